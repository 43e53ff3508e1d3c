-- Open-data hotspots: proxy crimes by category x area x month. area_code mixes levels in one
-- hierarchy (parent_code): LSOA -> ward -> district -> 'Partnership' -> 'Total', with
-- 'Outside area' (crimes the force placed in another partnership's LSOA) and 'Unknown' (no
-- location) directly under 'Total'. Every area of the partnership is present, zeros
-- included, and so are 'Outside area' and 'Unknown', so the table has the same shape
-- whatever the month's crimes. Every margin is included: category 'Total' (all proxy types)
-- and month 'Total' (the whole period).
-- Context (public, per area): its name and level, residents from the population estimates
-- (NULL for an area with any LSOA not covered, and for 'Total', which counts crimes of
-- non-residents too: the partnership's own rate is on the 'Partnership' row) and the LSOA's
-- IMD 2019 decile, ceil(rank * 10 / 32844); publish computes the rate per 1,000 residents.
WITH partnership_lsoas AS (
    SELECT l.lsoa_code, l.lsoa_name, l.ward_code, l.ward_name, l.lad_code, l.lad_name
    FROM lsoa_lookup AS l
    JOIN partnership_districts AS d
        ON d.lad_code = l.lad_code
),
areas AS (
    SELECT lsoa_code AS area, lsoa_name AS name, 'LSOA' AS level, ward_code AS parent
    FROM partnership_lsoas
    UNION ALL
    SELECT DISTINCT ward_code AS area, ward_name AS name, 'ward' AS level, lad_code AS parent
    FROM partnership_lsoas
    UNION ALL
    SELECT DISTINCT lad_code AS area, lad_name AS name, 'district' AS level, 'Partnership' AS parent
    FROM partnership_lsoas
    UNION ALL
    SELECT * FROM (VALUES
        ('Partnership', 'The partnership area', 'partnership', 'Total'),
        ('Outside area', 'Outside the partnership area', 'outside', 'Total'),
        ('Unknown', 'No location published', 'unknown', 'Total'),
        ('Total', 'Every crime the force published', 'all', '')
    ) AS fixed (area, name, level, parent)
),
categories AS (
    SELECT DISTINCT category FROM open_data_crime_types
    UNION ALL
    SELECT 'Total' AS category
),
months AS (
    SELECT DISTINCT month FROM open_crimes
    UNION ALL
    SELECT 'Total' AS month
),
inside AS (
    SELECT * FROM open_crimes WHERE lad_code NOT IN ('Outside area', 'Unknown')
),
levels AS (
    SELECT lsoa_code AS area, category, month FROM inside
    UNION ALL
    SELECT ward_code AS area, category, month FROM inside
    UNION ALL
    SELECT lad_code AS area, category, month FROM open_crimes
    UNION ALL
    SELECT 'Partnership' AS area, category, month FROM inside
    UNION ALL
    SELECT 'Total' AS area, category, month FROM open_crimes
),
counts AS (
    SELECT
        area,
        COALESCE(category, 'Total') AS category,
        COALESCE(month, 'Total') AS month,
        COUNT(*) AS offences
    FROM levels
    GROUP BY GROUPING SETS ((area, category, month), (area, category), (area, month), (area))
),
lsoa_residents AS (
    SELECT l.lsoa_code, l.ward_code, l.lad_code, p.residents
    FROM partnership_lsoas AS l
    LEFT JOIN (SELECT lsoa_code, SUM(residents) AS residents FROM population GROUP BY lsoa_code) AS p
        ON p.lsoa_code = l.lsoa_code
),
-- An aggregate's residents only where every LSOA in it is covered: a sum over part of an
-- area would make its rate look higher than it is.
area_residents AS (
    SELECT lsoa_code AS area, residents FROM lsoa_residents
    UNION ALL
    SELECT ward_code AS area, CASE WHEN COUNT(residents) = COUNT(*) THEN SUM(residents) END AS residents
    FROM lsoa_residents GROUP BY ward_code
    UNION ALL
    SELECT lad_code AS area, CASE WHEN COUNT(residents) = COUNT(*) THEN SUM(residents) END AS residents
    FROM lsoa_residents GROUP BY lad_code
    UNION ALL
    SELECT 'Partnership' AS area, CASE WHEN COUNT(residents) = COUNT(*) THEN SUM(residents) END AS residents
    FROM lsoa_residents
)
SELECT
    a.area AS area_code,
    a.name AS area_name,
    a.level,
    a.parent AS parent_code,
    c.category,
    m.month,
    COALESCE(n.offences, 0) AS offences,
    r.residents,
    CAST(CEIL(i.imd_rank * 10.0 / 32844) AS INT) AS imd_decile
FROM areas AS a
CROSS JOIN categories AS c
CROSS JOIN months AS m
LEFT JOIN counts AS n
    ON n.area = a.area AND n.category = c.category AND n.month = m.month
LEFT JOIN area_residents AS r
    ON r.area = a.area
LEFT JOIN imd AS i
    ON i.lsoa_code = a.area
