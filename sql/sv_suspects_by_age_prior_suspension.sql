-- Police serious-violence suspects (and offenders) by age band x whether they had a school
-- suspension or exclusion for a flagged reason (assault_or_weapon in the suspension_reasons
-- definitions: physical assault PP/PA, offensive weapon OW) dated before any of their
-- serious-violence offences as a suspect (that is, before the last one). Each person is
-- counted once, in the band of their age at their first serious-violence offence as a
-- suspect (as in sv_suspects_by_age_sex, whose measure this shares), so the 10-17 row gives
-- the two counts of the share: all suspects aged 10-17 and those with such a prior
-- suspension.
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
        first_value(sex ORDER BY offence_date ASC NULLS LAST, age ASC NULLS LAST, sex ASC) AS sex,
        MAX(offence_date) AS last_offence
    FROM involvements
    GROUP BY person_id
),
suspensions AS (
    SELECT s.person_id, MIN(s.event_date) AS first_suspension
    FROM school_suspensions AS s
    JOIN suspension_reasons AS r
        ON r.reason = s.reason
    WHERE r.assault_or_weapon
    GROUP BY s.person_id
),
flagged AS (
    SELECT
        COALESCE(b.age_band, 'unknown') AS band,
        CASE WHEN x.first_suspension < s.last_offence THEN 'yes' ELSE 'no' END AS prior
    FROM suspects AS s
    LEFT JOIN age_bands AS b
        ON b.age = s.age
    LEFT JOIN suspensions AS x
        ON x.person_id = s.person_id
),
-- Counted once per combination before the cube, which would otherwise copy every suspect
-- into each grouping set.
counted AS (
    SELECT band, prior, COUNT(*) AS n FROM flagged GROUP BY band, prior
)
SELECT
    COALESCE(band, 'Total') AS age_band,
    COALESCE(prior, 'Total') AS prior_school_suspension,
    SUM(n) AS suspects
FROM counted
GROUP BY CUBE (band, prior)
