-- Emergency-department assault attendances by district x age band x year, with margins,
-- beside the residents of each district and age band: the counts behind the
-- age-standardised attendance rate, which publish computes from the published cells (the
-- stage's `standardised` rate), so districts with younger or older residents can be compared.
-- An attendance is placed in the district of the incident's LSOA ('Unknown' when the trust
-- recorded none or it lies outside the lookup, as in ed_and_police_by_district_month) and in
-- its age band ('unknown' when not recorded), by arrival year.
-- Every district and age band with residents is a row in every year with ED data, 0 where
-- nobody attended, so each band's rate is there to standardise.
-- Context: residents of the district and band (ONS estimates, the year loaded, used for every
-- year; all ages for the band total; empty for 'Unknown' and 'unknown'), ed_months (months of
-- ED data in the row's year, any attendance) and ed_resident_years (residents x ed_months / 12),
-- the denominator of the rates per year.
WITH districts AS (
    SELECT DISTINCT lsoa_code, lad_code FROM lsoa_lookup
),
ed AS (
    SELECT
        COALESCE(d.lad_code, 'Unknown') AS lad,
        COALESCE(a.age_band, 'unknown') AS band,
        to_char(a.arrival_datetime, '%Y') AS yr,
        1 AS attendance
    FROM ed_assaults AS a
    LEFT JOIN districts AS d
        ON d.lsoa_code = a.incident_lsoa
),
band_residents AS (
    SELECT d.lad_code AS lad, p.age_band AS band, SUM(p.residents) AS residents
    FROM population AS p
    JOIN districts AS d
        ON d.lsoa_code = p.lsoa_code
    GROUP BY d.lad_code, p.age_band
),
grid AS (
    SELECT r.lad, r.band, y.yr, 0 AS attendance
    FROM band_residents AS r
    CROSS JOIN (SELECT DISTINCT yr FROM ed) AS y
),
cells AS (
    SELECT
        COALESCE(lad, 'Total') AS lad,
        COALESCE(band, 'Total') AS band,
        COALESCE(yr, 'Total') AS yr,
        SUM(attendance) AS attendances
    FROM (SELECT lad, band, yr, attendance FROM ed
          UNION ALL
          SELECT lad, band, yr, attendance FROM grid)
    GROUP BY CUBE (lad, band, yr)
),
residents AS (
    SELECT
        COALESCE(lad, 'Total') AS lad,
        COALESCE(band, 'Total') AS band,
        SUM(residents) AS residents
    FROM band_residents
    GROUP BY CUBE (lad, band)
),
ed_months AS (
    SELECT COALESCE(yr, 'Total') AS yr, COUNT(DISTINCT mon) AS months
    FROM (
        SELECT
            to_char(arrival_datetime, '%Y') AS yr,
            to_char(arrival_datetime, '%Y-%m') AS mon
        FROM ed_assaults
    )
    GROUP BY GROUPING SETS ((yr), ())
),
district_names AS (
    SELECT lad_code AS lad, MIN(lad_name) AS name FROM lsoa_lookup GROUP BY lad_code
)
SELECT
    c.lad AS lad_code,
    n.name AS area_name,
    c.band AS age_band,
    c.yr AS year,
    c.attendances,
    r.residents,
    COALESCE(m.months, 0) AS ed_months,
    ROUND(CAST(r.residents AS DOUBLE) * COALESCE(m.months, 0) / 12.0, 2) AS ed_resident_years
FROM cells AS c
LEFT JOIN residents AS r
    ON r.lad = c.lad AND r.band = c.band
LEFT JOIN ed_months AS m
    ON m.yr = c.yr
LEFT JOIN district_names AS n
    ON n.lad = c.lad
