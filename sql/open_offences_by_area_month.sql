-- Open-data hotspots: proxy crimes by category x area x month, where area_code mixes LSOAs,
-- wards and districts in one hierarchy (parent_code: LSOA -> ward -> district -> 'Total'
-- -> ''), and 'Outside area' and 'Unknown' sit directly under 'Total'. Every margin is
-- included: category 'Total' (all proxy types) and month 'Total' (the whole period).
-- Context (public, per area): residents from the population estimates and the LSOA's IMD
-- 2019 decile, ceil(rank * 10 / 32844); publish computes the rate per 1,000 residents.
WITH levels AS (
    SELECT lsoa_code AS area, ward_code AS parent, category, month
    FROM open_crimes WHERE lad_code NOT IN ('Outside area', 'Unknown')
    UNION ALL
    SELECT ward_code AS area, lad_code AS parent, category, month
    FROM open_crimes WHERE lad_code NOT IN ('Outside area', 'Unknown')
    UNION ALL
    SELECT lad_code AS area, 'Total' AS parent, category, month
    FROM open_crimes
    UNION ALL
    SELECT 'Total' AS area, '' AS parent, category, month
    FROM open_crimes
),
cells AS (
    SELECT
        area,
        parent,
        COALESCE(category, 'Total') AS category,
        COALESCE(month, 'Total') AS month,
        COUNT(*) AS offences
    FROM levels
    GROUP BY GROUPING SETS (
        (area, parent, category, month),
        (area, parent, category),
        (area, parent, month),
        (area, parent)
    )
),
lsoa_residents AS (
    SELECT p.lsoa_code, g.ward_code, g.lad_code, SUM(p.residents) AS residents
    FROM population AS p
    JOIN lsoa_lookup AS g
        ON g.lsoa_code = p.lsoa_code
    JOIN partnership_districts AS d
        ON d.lad_code = g.lad_code
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
)
SELECT
    c.area AS area_code,
    c.parent AS parent_code,
    c.category,
    c.month,
    c.offences,
    r.residents,
    CAST(CEIL(i.imd_rank * 10.0 / 32844) AS INT) AS imd_decile
FROM cells AS c
LEFT JOIN area_residents AS r
    ON r.area = c.area
LEFT JOIN imd AS i
    ON i.lsoa_code = c.area
