-- data.police.uk street-level crimes of the serious-violence proxy types
-- (definitions/open_data_crime_types.csv), placed in the partnership's geography
-- (definitions/partnership_districts.csv). A force publishes every crime it recorded, so
-- some fall in a neighbouring force's LSOA (area 'Outside area') and a few have no location
-- (area 'Unknown'); both are kept, so that totals count every published row.
WITH partnership_lsoas AS (
    SELECT l.lsoa_code, l.ward_code, l.lad_code
    FROM lsoa_lookup AS l
    JOIN partnership_districts AS d
        ON d.lad_code = l.lad_code
),
placed AS (
    SELECT
        c.crime_id,
        c.month,
        t.category,
        c.lsoa_code AS published_lsoa,
        g.lsoa_code,
        g.ward_code,
        g.lad_code,
        CASE WHEN c.lsoa_code IS NULL THEN 'Unknown' ELSE 'Outside area' END AS elsewhere
    FROM police_open_data AS c
    JOIN open_data_crime_types AS t
        ON t.crime_type = c.crime_type
    LEFT JOIN partnership_lsoas AS g
        ON g.lsoa_code = c.lsoa_code
)
SELECT
    crime_id,
    month,
    category,
    published_lsoa,
    COALESCE(lsoa_code, elsewhere) AS lsoa_code,
    COALESCE(ward_code, elsewhere) AS ward_code,
    COALESCE(lad_code, elsewhere) AS lad_code
FROM placed
