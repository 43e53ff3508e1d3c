-- The temporal heatmap: serious-violence offences by district x day of week x hour of day,
-- with every margin ('Total'). The day and hour are those the offence started (the offence
-- date is the start of the committed-from window), so an offence that spans midnight counts
-- on the day it began. A missing hour is 'unknown'.
WITH base AS (
    SELECT
        lad_code AS lad,
        CASE CAST(date_part('dow', offence_date) AS INT)
            WHEN 0 THEN 'Sun' WHEN 1 THEN 'Mon' WHEN 2 THEN 'Tue' WHEN 3 THEN 'Wed'
            WHEN 4 THEN 'Thu' WHEN 5 THEN 'Fri' ELSE 'Sat'
        END AS wd,
        COALESCE(lpad(CAST(offence_hour AS VARCHAR), 2, '0'), 'unknown') AS hr
    FROM sv_offences
)
SELECT
    COALESCE(lad, 'Total') AS lad_code,
    COALESCE(wd, 'Total') AS weekday,
    COALESCE(hr, 'Total') AS hour,
    COUNT(*) AS offences
FROM base
GROUP BY CUBE (lad, wd, hr)
