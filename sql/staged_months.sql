-- The months in which each checked dataset has at least one staged row, by its main date
-- column, as a number (year * 12 + month - 1) so that a calendar is a run of integers.
-- Computed from date parts, not by formatting each row's date as text (which cost more than
-- the rest). A stage of its own so the data-quality stage reads these few rows twice instead
-- of scanning every dataset (and joining persons to offences) twice: DataFusion inlines a
-- CTE at each reference.
SELECT DISTINCT 'police_offences' AS dataset,
       CAST(date_part('year', recorded_date) AS INT) * 12 + CAST(date_part('month', recorded_date) AS INT) - 1 AS i
FROM police_offences
UNION ALL
-- A person row has no date of its own: it counts in its offence's recorded month. Found by
-- grouping offences and persons together by offence id rather than by a join: a hash join
-- holds all offences in memory (2 GB at scale 100, past a 2 GiB limit) while a grouping
-- spills to disk.
SELECT DISTINCT 'police_persons', i
FROM (
    SELECT offence_id, MAX(i) AS i, MAX(person) AS person
    FROM (
        SELECT offence_id,
               CAST(date_part('year', recorded_date) AS INT) * 12 + CAST(date_part('month', recorded_date) AS INT) - 1 AS i,
               0 AS person
        FROM police_offences
        UNION ALL
        SELECT offence_id, CAST(NULL AS INT) AS i, 1 AS person FROM police_persons
    ) AS both_sides
    GROUP BY offence_id
) AS by_offence
WHERE person = 1 AND i IS NOT NULL
UNION ALL
SELECT DISTINCT 'youth_justice',
       CAST(date_part('year', event_date) AS INT) * 12 + CAST(date_part('month', event_date) AS INT) - 1
FROM youth_justice
UNION ALL
SELECT DISTINCT 'probation',
       CAST(date_part('year', start_date) AS INT) * 12 + CAST(date_part('month', start_date) AS INT) - 1
FROM probation
UNION ALL
SELECT DISTINCT 'school_suspensions',
       CAST(date_part('year', event_date) AS INT) * 12 + CAST(date_part('month', event_date) AS INT) - 1
FROM school_suspensions
UNION ALL
SELECT DISTINCT 'ed_assaults',
       CAST(date_part('year', arrival_datetime) AS INT) * 12 + CAST(date_part('month', arrival_datetime) AS INT) - 1
FROM ed_assaults
UNION ALL
SELECT DISTINCT 'hospital_admissions_agg',
       CAST(substr(month, 1, 4) AS INT) * 12 + CAST(substr(month, 6, 2) AS INT) - 1
FROM hospital_admissions_agg
UNION ALL
-- A quarter's rows cover its three months.
SELECT DISTINCT 'social_care_factors_agg',
       CAST(substr(quarter, 1, 4) AS INT) * 12 + (CAST(substr(quarter, 7, 1) AS INT) - 1) * 3 + q.k
FROM social_care_factors_agg CROSS JOIN (VALUES (0), (1), (2)) AS q (k)
