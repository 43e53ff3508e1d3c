-- Repeat victimisation: distinct victims of serious violence by how many serious-violence
-- offences they were a victim of in the period. offence_count is a hierarchy (parent in
-- offence_count_parent): '2' and '3+' sit under '2+'; '1' and '2+' under 'Total' (parent '').
-- So 2+ and 3+ are both published counts, and the total is the distinct-victim total of
-- sv_victims_by_age_sex (same measure).
WITH victims AS (
    SELECT p.person_id, COUNT(DISTINCT p.offence_id) AS n
    FROM police_persons AS p
    JOIN sv_offences AS o
        ON o.offence_id = p.offence_id
    WHERE p.role = 'victim'
    GROUP BY p.person_id
),
banded AS (
    SELECT CASE WHEN n >= 3 THEN '3+' WHEN n = 2 THEN '2' ELSE '1' END AS band FROM victims
),
levels AS (
    SELECT band AS offence_count, CASE WHEN band = '1' THEN 'Total' ELSE '2+' END AS offence_count_parent FROM banded
    UNION ALL
    SELECT '2+' AS offence_count, 'Total' AS offence_count_parent FROM banded WHERE band <> '1'
    UNION ALL
    SELECT 'Total' AS offence_count, '' AS offence_count_parent FROM banded
)
SELECT offence_count, offence_count_parent, COUNT(*) AS victims
FROM levels
GROUP BY offence_count, offence_count_parent
