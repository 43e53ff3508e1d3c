-- Repeat suspects: distinct suspects (or offenders) of serious violence by how many
-- serious-violence offences they were a suspect or offender in, in the period.
-- offence_count is a hierarchy (parent in offence_count_parent): '2' and '3+' sit under '2+'; '1' and '2+' under 'Total' (parent '').
-- So 2+ and 3+ are both published counts, and the total is the distinct-suspect total of
-- sv_suspects_by_age_sex (same measure).
WITH suspects AS (
    SELECT p.person_id, COUNT(DISTINCT p.offence_id) AS n
    FROM police_persons AS p
    JOIN sv_offences AS o
        ON o.offence_id = p.offence_id
    WHERE p.role IN ('suspect', 'offender')
    GROUP BY p.person_id
),
banded AS (
    SELECT CASE WHEN n >= 3 THEN '3+' WHEN n = 2 THEN '2' ELSE '1' END AS band FROM suspects
),
counted AS (
    SELECT band, COUNT(*) AS n FROM banded GROUP BY band
),
-- Each count goes to its band, to '2+' and to the total in one pass over the counts:
-- DataFusion inlines a CTE at each reference, so naming `banded` three times would join
-- and group the persons three times.
levels AS (
    SELECT
        CASE l.level WHEN 0 THEN c.band WHEN 1 THEN '2+' ELSE 'Total' END AS offence_count,
        CASE l.level
            WHEN 0 THEN CASE WHEN c.band = '1' THEN 'Total' ELSE '2+' END
            WHEN 1 THEN 'Total'
            ELSE ''
        END AS offence_count_parent,
        c.n
    FROM counted AS c
    CROSS JOIN (VALUES (0), (1), (2)) AS l (level)
    WHERE l.level <> 1 OR c.band <> '1'
)
SELECT offence_count, offence_count_parent, SUM(n) AS suspects
FROM levels
GROUP BY offence_count, offence_count_parent
