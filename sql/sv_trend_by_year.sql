-- The trend: per year, serious-violence offences, knife-enabled serious violence and
-- non-domestic homicide, with the all-years total. Change against the previous year and the
-- 3-year baseline are derived later from these (protected) counts. 'homicide' is the
-- category name given in the sv_offence_codes definitions.
WITH base AS (
    SELECT
        CAST(year AS VARCHAR) AS yr,
        CASE WHEN knife_flag THEN 1 ELSE 0 END AS knife,
        CASE WHEN category = 'homicide' AND NOT domestic_flag THEN 1 ELSE 0 END AS homicide
    FROM sv_offences
)
SELECT
    COALESCE(yr, 'Total') AS year,
    COUNT(*) AS offences,
    SUM(knife) AS knife_offences,
    SUM(homicide) AS non_domestic_homicides
FROM base
GROUP BY ROLLUP (yr)
