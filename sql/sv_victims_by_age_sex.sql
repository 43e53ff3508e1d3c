-- Victims of serious violence by age band and sex, as distinct persons, with margins.
-- Each person is counted once, in the band of their youngest recorded age as a victim
-- (unknown when never recorded), so every margin is the sum of its parts: the disclosure
-- control relies on that additivity.
WITH victims AS (
    SELECT p.person_id, MIN(p.age) AS age, MIN(p.sex) AS sex
    FROM police_persons AS p
    JOIN sv_offences AS o
        ON o.offence_id = p.offence_id
    WHERE p.role = 'victim'
    GROUP BY p.person_id
),
cells AS (
    SELECT COALESCE(b.age_band, 'unknown') AS age_band, v.sex, COUNT(*) AS victims
    FROM victims AS v
    LEFT JOIN age_bands AS b
        ON b.age = v.age
    GROUP BY COALESCE(b.age_band, 'unknown'), v.sex
)
SELECT age_band, sex, victims FROM cells
UNION ALL
SELECT age_band, 'Total' AS sex, SUM(victims) AS victims FROM cells GROUP BY age_band
UNION ALL
SELECT 'Total' AS age_band, sex, SUM(victims) AS victims FROM cells GROUP BY sex
UNION ALL
SELECT 'Total' AS age_band, 'Total' AS sex, SUM(victims) AS victims FROM cells
