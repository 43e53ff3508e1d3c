-- Serious-violence offences by district x the month the police *recorded* them
-- (recorded_date), with margins: what a force's own monthly figures show, against the month
-- the offence took place (sv_offences_by_district_month). Offences recorded late (months
-- after they happened) move between the two; the all-months margin of a district is the
-- same figure in both tables. An offence with no LSOA, or one outside the lookup, is
-- counted under district 'Unknown'.
SELECT
    COALESCE(lad_code, 'Total') AS lad_code,
    COALESCE(recorded_month, 'Total') AS recorded_month,
    COUNT(*) AS offences
FROM sv_offences
GROUP BY CUBE (lad_code, recorded_month)
