-- Serious-violence offences by district x location type, with every margin ('Total').
WITH base AS (
    SELECT lad_code AS lad, location_type AS loc
    FROM sv_offences
)
SELECT
    COALESCE(lad, 'Total') AS lad_code,
    COALESCE(loc, 'Total') AS location_type,
    COUNT(*) AS offences
FROM base
GROUP BY CUBE (lad, loc)
