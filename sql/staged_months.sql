-- The months in which each checked dataset has at least one staged row, by its main date
-- column, as a number (year * 12 + month - 1) so that a calendar is a run of integers.
-- Computed from date parts, not by formatting each row's date as text (which cost more than
-- the rest). A stage of its own so the data-quality stage reads these few rows twice instead
-- of scanning every dataset (and joining persons to offences) twice: DataFusion inlines a
-- CTE at each reference.
WITH dated AS (
    -- Each dataset's main date (an ED arrival's calendar date), so the month number below is
    -- written once.
    SELECT 'police_offences' AS dataset, recorded_date AS day FROM police_offences
    UNION ALL
    -- A person row has no date of its own: it counts in its offence's recorded month. Found
    -- by grouping offences and persons together by offence id rather than by a join: a hash
    -- join holds all offences in memory (2 GB at scale 100, past a 2 GiB limit) while a
    -- grouping spills to disk.
    SELECT 'police_persons', day
    FROM (
        SELECT offence_id, MAX(day) AS day, MAX(person) AS person
        FROM (
            SELECT offence_id, recorded_date AS day, 0 AS person FROM police_offences
            UNION ALL
            SELECT offence_id, CAST(NULL AS DATE) AS day, 1 AS person FROM police_persons
        ) AS both_sides
        GROUP BY offence_id
    ) AS by_offence
    WHERE person = 1 AND day IS NOT NULL
    UNION ALL
    SELECT 'youth_justice', event_date FROM youth_justice
    UNION ALL
    SELECT 'probation', start_date FROM probation
    UNION ALL
    SELECT 'school_suspensions', event_date FROM school_suspensions
    UNION ALL
    SELECT 'ed_assaults', CAST(arrival_datetime AS DATE) FROM ed_assaults
)
SELECT DISTINCT dataset,
       CAST(date_part('year', day) AS INT) * 12 + CAST(date_part('month', day) AS INT) - 1 AS i
FROM dated
UNION ALL
SELECT DISTINCT 'hospital_admissions_agg',
       CAST(substr(month, 1, 4) AS INT) * 12 + CAST(substr(month, 6, 2) AS INT) - 1
FROM hospital_admissions_agg
UNION ALL
-- A quarter's rows cover its three months.
SELECT DISTINCT 'social_care_factors_agg',
       CAST(substr(quarter, 1, 4) AS INT) * 12 + (CAST(substr(quarter, 7, 1) AS INT) - 1) * 3 + q.k
FROM social_care_factors_agg CROSS JOIN (VALUES (0), (1), (2)) AS q (k)
