-- Person-offence involvements in serious violence by role x age band x sex, with margins:
-- one count per person per offence per role, where suspect and offender are one role
-- ('suspect'), so a person recorded as both for the same offence counts once. The age is
-- the age at that offence. A person who is victim in one offence and suspect in another
-- counts once in each role; the role margin is the sum of the two.
-- age_band is a hierarchy (parent in age_group): band -> 'under_25' / '25_and_over' (from
-- the age_bands definitions) -> 'Total' -> ''; 'unknown' sits directly under 'Total'.
WITH roles AS (
    SELECT p.offence_id, p.person_id, CASE WHEN p.role = 'victim' THEN 'victim' ELSE 'suspect' END AS role, p.age, p.sex
    FROM police_persons AS p
    JOIN sv_offences AS o
        ON o.offence_id = p.offence_id
),
involvements AS (
    -- The youngest age recorded for the role in the offence, with the sex recorded at that
    -- age: the persons of the victims and suspects tables each lie in one of these cells.
    SELECT offence_id, person_id, role, MIN(age) AS age,
        first_value(sex ORDER BY age ASC NULLS LAST, sex ASC) AS sex
    FROM roles
    GROUP BY offence_id, person_id, role
),
banded AS (
    SELECT
        i.role,
        COALESCE(b.age_band, 'unknown') AS band,
        CASE WHEN b.age_band IS NULL THEN NULL WHEN b.under_25 THEN 'under_25' ELSE '25_and_over' END AS grp,
        i.sex
    FROM involvements AS i
    LEFT JOIN age_bands AS b
        ON b.age = i.age
),
counted AS (
    SELECT role, band, grp, sex, COUNT(*) AS n FROM banded GROUP BY role, band, grp, sex
),
-- Each count goes to its band, its age group and the total in one pass over the counts:
-- DataFusion inlines a CTE at each reference, so naming `banded` three times would join
-- and group the persons three times.
levels AS (
    SELECT
        c.role,
        CASE l.level WHEN 0 THEN c.band WHEN 1 THEN c.grp ELSE 'Total' END AS age_band,
        CASE l.level WHEN 0 THEN COALESCE(c.grp, 'Total') WHEN 1 THEN 'Total' ELSE '' END AS age_group,
        c.sex,
        c.n
    FROM counted AS c
    CROSS JOIN (VALUES (0), (1), (2)) AS l (level)
    WHERE l.level <> 1 OR c.grp IS NOT NULL
)
SELECT
    COALESCE(role, 'Total') AS role,
    age_band,
    age_group,
    COALESCE(sex, 'Total') AS sex,
    SUM(n) AS involvements
FROM levels
GROUP BY GROUPING SETS ((role, age_band, age_group, sex), (role, age_band, age_group), (age_band, age_group, sex), (age_band, age_group))
