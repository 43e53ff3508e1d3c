-- Emergency-department assault attendances by location type x hour of the assault, with
-- margins. The hour is that of the assault, not of arrival, so an assault late in the
-- evening counts at its own hour even when the patient arrived after midnight; 'unknown'
-- when the assault time was not recorded.
WITH base AS (
    SELECT
        location_type AS loc,
        COALESCE(lpad(CAST(CAST(date_part('hour', assault_datetime) AS INT) AS VARCHAR), 2, '0'), 'unknown') AS hr
    FROM ed_assaults
)
SELECT
    COALESCE(loc, 'Total') AS location_type,
    COALESCE(hr, 'Total') AS hour,
    COUNT(*) AS attendances
FROM base
GROUP BY CUBE (loc, hr)
