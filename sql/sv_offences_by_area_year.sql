-- Hotspots: serious-violence offences by area x year, where area_code mixes LSOAs, wards
-- and districts in one hierarchy (parent_code: LSOA -> ward -> district -> 'Total' -> ''),
-- so publish protects an LSOA against recovery by subtraction from its ward. An offence
-- whose LSOA is missing or outside the lookup is counted in area 'Unknown' (under 'Total').
-- Context (public, per area): residents summed from the population estimates, and the
-- LSOA's IMD 2019 decile, ceil(rank / 3284.4), written as ceil(rank * 10 / 32844), which
-- is exact in floating point. Rates are per year: resident_years is the residents times the
-- years of police data the row covers (the months with any recorded offence, over 12), so
-- the all-years row and a part year are not read as one whole year. The rate per 1,000
-- residents per year is computed by publish from the protected count and resident_years.
-- The population estimates are one year's (the one loaded), used for every year.
-- area_name: the LSOA's, ward's or district's name from the same lookup
-- (public ONS names), so a reader need not look codes up; NULL for 'Total' and 'Unknown'.
WITH levels AS (
    SELECT lsoa_code AS area, ward_code AS parent, CAST(year AS VARCHAR) AS yr
    FROM sv_offences WHERE ward_code <> 'Unknown'
    UNION ALL
    SELECT ward_code AS area, lad_code AS parent, CAST(year AS VARCHAR) AS yr
    FROM sv_offences WHERE ward_code <> 'Unknown'
    UNION ALL
    SELECT lad_code AS area, 'Total' AS parent, CAST(year AS VARCHAR) AS yr
    FROM sv_offences
    UNION ALL
    SELECT 'Total' AS area, '' AS parent, CAST(year AS VARCHAR) AS yr
    FROM sv_offences
),
cells AS (
    SELECT area, parent, COALESCE(yr, 'Total') AS yr, COUNT(*) AS offences
    FROM levels
    GROUP BY GROUPING SETS ((area, parent, yr), (area, parent))
),
lsoa_residents AS (
    SELECT p.lsoa_code, g.ward_code, g.lad_code, SUM(p.residents) AS residents
    FROM population AS p
    JOIN lsoa_lookup AS g
        ON g.lsoa_code = p.lsoa_code
    GROUP BY p.lsoa_code, g.ward_code, g.lad_code
),
area_residents AS (
    SELECT lsoa_code AS area, residents FROM lsoa_residents
    UNION ALL
    SELECT ward_code AS area, SUM(residents) AS residents FROM lsoa_residents GROUP BY ward_code
    UNION ALL
    SELECT lad_code AS area, SUM(residents) AS residents FROM lsoa_residents GROUP BY lad_code
    UNION ALL
    SELECT 'Total' AS area, SUM(residents) AS residents FROM lsoa_residents
),
coverage AS (
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
-- One name per code: MIN guards against a lookup that spells a ward's name two ways, which
-- would otherwise duplicate that ward's cells.
area_names AS (
    SELECT lsoa_code AS area, MIN(lsoa_name) AS name FROM lsoa_lookup GROUP BY lsoa_code
    UNION ALL
    SELECT ward_code AS area, MIN(ward_name) AS name FROM lsoa_lookup GROUP BY ward_code
    UNION ALL
    SELECT lad_code AS area, MIN(lad_name) AS name FROM lsoa_lookup GROUP BY lad_code
)
SELECT
    c.area AS area_code,
    n.name AS area_name,
    c.parent AS parent_code,
    c.yr AS year,
    c.offences,
    r.residents,
    ROUND(CAST(r.residents AS DOUBLE) * v.months / 12.0, 2) AS resident_years,
    CAST(CEIL(i.imd_rank * 10.0 / 32844) AS INT) AS imd_decile
FROM cells AS c
LEFT JOIN area_residents AS r
    ON r.area = c.area
LEFT JOIN coverage AS v
    ON v.yr = c.yr
LEFT JOIN imd AS i
    ON i.lsoa_code = c.area
LEFT JOIN area_names AS n
    ON n.area = c.area
