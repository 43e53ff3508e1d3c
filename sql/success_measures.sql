-- The Home Office's Violence Reduction Unit success measures, side by side, by district x year
-- (with the partnership total, lad_code 'Total', and the all-years total, year 'Total'):
--   * emergency admissions for assault with a sharp object (cause 'sharp_object', X99), all
--     ages and aged under 25 (the age bands flagged under_25 in the age_bands definitions;
--     admissions of unknown age count in all ages only);
--   * knife-enabled serious violence: serious-violence offences flagged knife_flag, all, and
--     those with at least one victim aged under 25 at the offence (each offence counted once,
--     however many young victims it has);
--   * non-domestic homicide: serious-violence offences of category 'homicide' not flagged
--     domestic, all, and those with at least one victim aged under 25.
-- The counts are the same quantities other tables publish (sharp admissions of under-25s are
-- sharp_admissions_u25_by_district_year's cells; all knife offences and non-domestic
-- homicides are sv_offences_by_category_year's and sv_trend_by_year's), declared so in the
-- pipeline, so publish protects them together and they are withheld alike everywhere.
-- Sharp admissions keep the partner's suppression and never undo it: a cell whose sum
-- includes a partner-suppressed row has its flag set (one flag per count, since the
-- under-25 figure can be untouched where the all-ages one is not) and counts the rows the
-- partner shared, a lower bound that publish flags as one; a cell with no shared row has a
-- NULL count (published as [p]). The same rule as sharp_admissions_u25_by_district_year, whose
-- cells the under-25 count is.
-- Context for rates per year: residents of the district (ONS estimates, the year loaded, all
-- ages and under 25), the months of data each source holds in the row's year, and resident
-- years (residents x months / 12) per source. A district or year one source does not cover
-- counts 0 there, with 0 months: read the months before the count.
WITH bands AS (
    SELECT DISTINCT age_band, under_25 FROM age_bands
),
young_victims AS (
    -- Offences with a victim under 25 (the flag, not the token, is what is carried on).
    SELECT DISTINCT p.offence_id, true AS young
    FROM police_persons AS p
    JOIN age_bands AS a
        ON a.age = p.age
    WHERE p.role = 'victim' AND a.under_25
),
police AS (
    SELECT
        o.lad_code AS lad,
        CAST(o.year AS VARCHAR) AS yr,
        CASE WHEN o.knife_flag THEN 1 ELSE 0 END AS knife,
        CASE WHEN o.knife_flag AND COALESCE(y.young, false) THEN 1 ELSE 0 END AS knife_u25,
        CASE WHEN o.category = 'homicide' AND NOT o.domestic_flag THEN 1 ELSE 0 END AS homicide,
        CASE
            WHEN o.category = 'homicide' AND NOT o.domestic_flag AND COALESCE(y.young, false)
            THEN 1 ELSE 0
        END AS homicide_u25
    FROM sv_offences AS o
    LEFT JOIN young_victims AS y
        ON y.offence_id = o.offence_id
),
police_cells AS (
    SELECT
        COALESCE(lad, 'Total') AS lad,
        COALESCE(yr, 'Total') AS yr,
        SUM(knife) AS knife_offences,
        SUM(knife_u25) AS knife_offences_u25,
        SUM(homicide) AS non_domestic_homicides,
        SUM(homicide_u25) AS non_domestic_homicides_u25
    FROM police
    GROUP BY CUBE (lad, yr)
),
health AS (
    SELECT
        h.lad_code AS lad,
        substr(h.month, 1, 4) AS yr,
        h.admissions,
        -- NULL outside the under-25 bands, so a cell with no shared under-25 row sums to
        -- NULL as the under-25 table's does.
        CASE WHEN b.under_25 THEN h.admissions END AS admissions_u25,
        CASE WHEN h.suppressed THEN 1 ELSE 0 END AS withheld,
        CASE WHEN h.suppressed AND b.under_25 THEN 1 ELSE 0 END AS withheld_u25
    FROM hospital_admissions_agg AS h
    LEFT JOIN bands AS b
        ON b.age_band = h.age_band
    WHERE h.cause = 'sharp_object'
),
health_cells AS (
    SELECT
        COALESCE(lad, 'Total') AS lad,
        COALESCE(yr, 'Total') AS yr,
        CASE WHEN MAX(withheld_u25) = 1 THEN SUM(admissions_u25)
             ELSE COALESCE(SUM(admissions_u25), 0) END AS sharp_admissions_u25,
        MAX(withheld_u25) = 1 AS sharp_u25_suppressed,
        SUM(admissions) AS sharp_admissions,
        MAX(withheld) = 1 AS sharp_suppressed
    FROM health
    GROUP BY CUBE (lad, yr)
),
cells AS (
    SELECT
        COALESCE(p.lad, h.lad) AS lad,
        COALESCE(p.yr, h.yr) AS yr,
        CASE WHEN h.lad IS NULL THEN 0 ELSE h.sharp_admissions_u25 END AS sharp_admissions_u25,
        CASE WHEN h.lad IS NULL THEN false ELSE h.sharp_u25_suppressed END AS sharp_u25_suppressed,
        CASE WHEN h.lad IS NULL THEN 0 ELSE h.sharp_admissions END AS sharp_admissions,
        CASE WHEN h.lad IS NULL THEN false ELSE h.sharp_suppressed END AS sharp_suppressed,
        COALESCE(p.knife_offences_u25, 0) AS knife_offences_u25,
        COALESCE(p.knife_offences, 0) AS knife_offences,
        COALESCE(p.non_domestic_homicides_u25, 0) AS non_domestic_homicides_u25,
        COALESCE(p.non_domestic_homicides, 0) AS non_domestic_homicides
    FROM police_cells AS p
    FULL OUTER JOIN health_cells AS h
        ON h.lad = p.lad AND h.yr = p.yr
),
district_residents AS (
    SELECT
        COALESCE(lad, 'Total') AS lad,
        SUM(residents) AS residents,
        SUM(CASE WHEN under_25 THEN residents ELSE 0 END) AS residents_u25
    FROM (
        SELECT g.lad_code AS lad, p.residents, b.under_25
        FROM population AS p
        JOIN (SELECT DISTINCT lsoa_code, lad_code FROM lsoa_lookup) AS g
            ON g.lsoa_code = p.lsoa_code
        JOIN bands AS b
            ON b.age_band = p.age_band
    )
    GROUP BY ROLLUP (lad)
),
police_months AS (
    -- Months with police data (any recorded offence, serious or not) in each year, and in
    -- the whole period.
    SELECT COALESCE(yr, 'Total') AS yr, COUNT(DISTINCT m) AS months
    FROM (
        SELECT
            CAST(CAST(date_part('year', offence_date) AS INT) AS VARCHAR) AS yr,
            date_trunc('month', offence_date) AS m
        FROM police_offences
    )
    GROUP BY GROUPING SETS ((yr), ())
),
health_months AS (
    -- Months with any admissions row (any cause, suppressed or not).
    SELECT COALESCE(yr, 'Total') AS yr, COUNT(DISTINCT month) AS months
    FROM (SELECT substr(month, 1, 4) AS yr, month FROM hospital_admissions_agg)
    GROUP BY GROUPING SETS ((yr), ())
),
district_names AS (
    SELECT lad_code AS lad, MIN(lad_name) AS name FROM lsoa_lookup GROUP BY lad_code
)
SELECT
    c.lad AS lad_code,
    n.name AS area_name,
    c.yr AS year,
    c.sharp_admissions_u25,
    c.sharp_u25_suppressed,
    c.sharp_admissions,
    c.sharp_suppressed,
    c.knife_offences_u25,
    c.knife_offences,
    c.non_domestic_homicides_u25,
    c.non_domestic_homicides,
    r.residents_u25,
    r.residents,
    COALESCE(hm.months, 0) AS health_months,
    COALESCE(pm.months, 0) AS police_months,
    ROUND(CAST(r.residents_u25 AS DOUBLE) * COALESCE(hm.months, 0) / 12.0, 2)
        AS health_resident_years_u25,
    ROUND(CAST(r.residents AS DOUBLE) * COALESCE(hm.months, 0) / 12.0, 2)
        AS health_resident_years,
    ROUND(CAST(r.residents_u25 AS DOUBLE) * COALESCE(pm.months, 0) / 12.0, 2)
        AS police_resident_years_u25,
    ROUND(CAST(r.residents AS DOUBLE) * COALESCE(pm.months, 0) / 12.0, 2)
        AS police_resident_years
FROM cells AS c
LEFT JOIN district_residents AS r
    ON r.lad = c.lad
LEFT JOIN health_months AS hm
    ON hm.yr = c.yr
LEFT JOIN police_months AS pm
    ON pm.yr = c.yr
LEFT JOIN district_names AS n
    ON n.lad = c.lad
