-- Cohort overlap (Venn): distinct persons known to police as a suspect or offender of a
-- serious-violence offence (sv_offences), to youth justice, to probation and to school suspensions/exclusions,
-- by every combination of the four ('yes'/'no' per agency, 'Total' = either) x age band.
-- Persons are linked by person_links (match keys, contract version 2): records whose tokens
-- it links count as one person; a token it does not list (version-1 data, no match key) is
-- the person, as partners derive it with the shared linkage key. Each person is counted once, in the band of their youngest age recorded by
-- any of the four ('unknown' when none recorded one), so every margin is the sum of its parts.
-- A person known to police only as a victim, or as a suspect of other offences only, is not
-- in the police cohort.
WITH appearances AS (
    SELECT p.person_id, 1 AS police, 0 AS yj, 0 AS prob, 0 AS school, p.age
    FROM police_persons AS p
    JOIN sv_offences AS o
        ON o.offence_id = p.offence_id
    WHERE p.role IN ('suspect', 'offender')
    UNION ALL
    SELECT person_id, 0 AS police, 1 AS yj, 0 AS prob, 0 AS school, age FROM youth_justice
    UNION ALL
    SELECT person_id, 0 AS police, 0 AS yj, 1 AS prob, 0 AS school, age FROM probation
    UNION ALL
    SELECT person_id, 0 AS police, 0 AS yj, 0 AS prob, 1 AS school, age FROM school_suspensions
),
linked AS (
    SELECT COALESCE(l.linked_person_id, a.person_id) AS person, a.police, a.yj, a.prob, a.school, a.age
    FROM appearances AS a
    LEFT JOIN person_links AS l
        ON l.person_id = a.person_id
),
persons AS (
    SELECT person, MAX(police) AS police, MAX(yj) AS yj, MAX(prob) AS prob, MAX(school) AS school, MIN(age) AS age
    FROM linked
    GROUP BY person
),
flagged AS (
    SELECT
        CASE WHEN p.police = 1 THEN 'yes' ELSE 'no' END AS pol,
        CASE WHEN p.yj = 1 THEN 'yes' ELSE 'no' END AS yj,
        CASE WHEN p.prob = 1 THEN 'yes' ELSE 'no' END AS prob,
        CASE WHEN p.school = 1 THEN 'yes' ELSE 'no' END AS sch,
        COALESCE(b.age_band, 'unknown') AS band
    FROM persons AS p
    LEFT JOIN age_bands AS b
        ON b.age = p.age
),
-- Counted once per combination before the cube: CUBE over the persons themselves would
-- copy every person into all 32 grouping sets.
counted AS (
    SELECT pol, yj, prob, sch, band, COUNT(*) AS n
    FROM flagged
    GROUP BY pol, yj, prob, sch, band
)
SELECT
    COALESCE(pol, 'Total') AS police,
    COALESCE(yj, 'Total') AS youth_justice,
    COALESCE(prob, 'Total') AS probation,
    COALESCE(sch, 'Total') AS school_suspensions,
    COALESCE(band, 'Total') AS age_band,
    SUM(n) AS persons
FROM counted
GROUP BY CUBE (pol, yj, prob, sch, band)
