-- Serious-violence offences by district x category x year, with knife-enabled and firearm
-- counts, and every margin ('Total'). Each count column is protected as its own table.
-- The category comes from the sv_offence_codes definitions (via sv_offences).
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
    CASE WHEN GROUPING(lad) = 1 THEN 'Total' ELSE lad END AS lad_code,
    CASE WHEN GROUPING(cat) = 1 THEN 'Total' ELSE cat END AS category,
    CASE WHEN GROUPING(yr) = 1 THEN 'Total' ELSE yr END AS year,
    COUNT(*) AS offences,
    SUM(knife) AS knife_offences,
    SUM(firearm) AS firearm_offences
FROM base
GROUP BY CUBE (lad, cat, yr)
