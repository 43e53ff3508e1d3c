-- The Cardiff Model's comparison: emergency-department assault attendances (by arrival
-- month, placed in the district of the incident's LSOA; 'Unknown' when the trust recorded
-- none or it lies outside the lookup) beside police-recorded serious violence (by offence
-- month and district, as in sv_offences_by_district_month), for the same district and
-- month, with margins. ED attendances above what the police record suggest violence
-- unknown to the police; the police figure is serious violence as defined (it leaves out
-- domestic assault with injury and includes robbery and weapons possession), so the gap is
-- an indication, not a like-for-like count.
WITH ed AS (
    SELECT
        COALESCE(g.lad_code, 'Unknown') AS lad,
        to_char(a.arrival_datetime, '%Y-%m') AS mon,
        1 AS attendance,
        0 AS offence
    FROM ed_assaults AS a
    LEFT JOIN (SELECT DISTINCT lsoa_code, lad_code FROM lsoa_lookup) AS g
        ON g.lsoa_code = a.incident_lsoa
),
police AS (
    SELECT lad_code AS lad, month AS mon, 0 AS attendance, 1 AS offence
    FROM sv_offences
),
both_sources AS (
    SELECT * FROM ed
    UNION ALL
    SELECT * FROM police
)
SELECT
    COALESCE(lad, 'Total') AS lad_code,
    COALESCE(mon, 'Total') AS month,
    SUM(attendance) AS ed_attendances,
    SUM(offence) AS sv_offences
FROM both_sources
GROUP BY CUBE (lad, mon)
