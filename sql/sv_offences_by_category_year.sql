-- Serious-violence offences by district x category x year, with knife-enabled and firearm
-- counts, and every margin ('Total'). Each count column is protected as its own table.
-- The category comes from the sv_offence_codes definitions (via sv_offences). The grouped
-- columns are never NULL (sv_offences names unknowns), so a NULL from CUBE marks a margin.
WITH base AS (
    SELECT
        lad_code AS lad,
        category AS cat,
        CAST(year AS VARCHAR) AS yr,
        CASE WHEN knife_flag THEN 1 ELSE 0 END AS knife,
        CASE WHEN firearm_flag THEN 1 ELSE 0 END AS firearm
    FROM sv_offences
)
SELECT
    COALESCE(lad, 'Total') AS lad_code,
    COALESCE(cat, 'Total') AS category,
    COALESCE(yr, 'Total') AS year,
    COUNT(*) AS offences,
    SUM(knife) AS knife_offences,
    SUM(firearm) AS firearm_offences
FROM base
GROUP BY CUBE (lad, cat, yr)
