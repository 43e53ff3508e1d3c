-- Suspects (and offenders) of serious violence by age band and sex, as distinct persons,
-- with margins. Each person is counted once, at their first serious-violence offence as
-- a suspect or offender (the earliest offence date): the band of the age recorded for that
-- offence (unknown when none was) and the sex recorded with it, so that each person lies in
-- a cell of the involvements table too (the pipeline declares
-- this table a part of it). Every margin is the sum of its parts. A person who is also a
-- victim is counted here only for the suspect role.
-- age_band is a hierarchy (parent in age_group): each band sits under 'under_25' or
-- '25_and_over' (from the under_25 flag of the age_bands definitions), and those and
-- 'unknown' sit under 'Total' (whose parent is ''). The under-25 count is thus a margin.
WITH involvements AS (
    -- One row per serious-violence offence the person was a suspect or offender in, with the youngest age
    -- recorded for it and the sex recorded at that age, as the involvements table counts it.
    SELECT p.offence_id, p.person_id, MIN(o.offence_date) AS offence_date, MIN(p.age) AS age,
        first_value(p.sex ORDER BY p.age ASC NULLS LAST, p.sex ASC) AS sex
    FROM police_persons AS p
    JOIN sv_offences AS o
        ON o.offence_id = p.offence_id
    WHERE p.role IN ('suspect', 'offender')
    GROUP BY p.offence_id, p.person_id
),
suspects AS (
    -- Each person at their first serious-violence offence in the role (the earliest offence
    -- date; on one day the youngest age, then the lowest sex code: values, never the offence
    -- token, decide, so nothing published is computed from a token).
    SELECT person_id,
        first_value(age ORDER BY offence_date ASC NULLS LAST, age ASC NULLS LAST) AS age,
        first_value(sex ORDER BY offence_date ASC NULLS LAST, age ASC NULLS LAST, sex ASC) AS sex
    FROM involvements
    GROUP BY person_id
),
banded AS (
    SELECT
        COALESCE(b.age_band, 'unknown') AS band,
        CASE WHEN b.age_band IS NULL THEN NULL WHEN b.under_25 THEN 'under_25' ELSE '25_and_over' END AS grp,
        s.sex
    FROM suspects AS s
    LEFT JOIN age_bands AS b
        ON b.age = s.age
),
counted AS (
    SELECT band, grp, sex, COUNT(*) AS n FROM banded GROUP BY band, grp, sex
),
-- Each count goes to its band, its age group and the total in one pass over the counts:
-- DataFusion inlines a CTE at each reference, so naming `banded` three times would join
-- and group the persons three times.
levels AS (
    SELECT
        CASE l.level WHEN 0 THEN c.band WHEN 1 THEN c.grp ELSE 'Total' END AS age_band,
        CASE l.level WHEN 0 THEN COALESCE(c.grp, 'Total') WHEN 1 THEN 'Total' ELSE '' END AS age_group,
        c.sex,
        c.n
    FROM counted AS c
    CROSS JOIN (VALUES (0), (1), (2)) AS l (level)
    WHERE l.level <> 1 OR c.grp IS NOT NULL
)
SELECT age_band, age_group, COALESCE(sex, 'Total') AS sex, SUM(n) AS suspects
FROM levels
GROUP BY GROUPING SETS ((age_band, age_group, sex), (age_band, age_group))
