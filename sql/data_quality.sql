-- The data-quality table (standard output #12): per dataset and delivery period, with the
-- partner who delivered it,
-- the rows received, staged and rejected (from the `deliveries` snapshot of the staged
-- manifests) and the months with no staged rows (from the staged_months stage).
--
-- period: the upload's period text, or 'all' for files loaded without one (svna load).
-- missing_months: the months, 'YYYY-MM;YYYY-MM', in which the dataset's staged data has no
-- row by its main date column, from the first to the last month of the period, or of the
-- dataset's data when the delivery has no period; '' when none is missing. NULL for a dataset
-- this stage does not check (one not listed in `checked`, e.g. police open data).
-- first_month, last_month: 'YYYY-MM', the months checked for gaps (the period's, or the
-- data's own first and last month for a delivery with no period), so a reader sees the real
-- span of a load without a period rather than 'all'; NULL where the stage does not check.
--
-- One row per dataset and period (partner is a column, not a cell coordinate), and no
-- margins: see the stage in pipelines/sna.toml for why.
WITH checked (dataset) AS (
    VALUES ('police_offences'), ('police_persons'), ('youth_justice'), ('probation'),
           ('school_suspensions'), ('ed_assaults'), ('hospital_admissions_agg'),
           ('social_care_factors_agg')
),
-- Months with at least one staged row per dataset (the staged_months stage).
present_index AS (
    SELECT dataset, i FROM staged_months
),
cells AS (
    SELECT dataset, COALESCE(period, 'all') AS period,
           MIN(period_start) AS period_start, MAX(period_end) AS period_end,
           SUM(rows_received) AS rows_received,
           SUM(rows_staged) AS rows_staged,
           SUM(rows_rejected) AS rows_rejected
    FROM deliveries
    GROUP BY dataset, COALESCE(period, 'all')
),
-- Who delivered: normally one partner per dataset; two partners sending one dataset for
-- one period (e.g. two forces) share the row as 'a;b'.
partners AS (
    SELECT dataset, period, string_agg(partner, ';' ORDER BY partner) AS partner
    FROM (SELECT DISTINCT dataset, COALESCE(period, 'all') AS period, partner FROM deliveries) AS d
    GROUP BY dataset, period
),
spans AS (
    SELECT c.dataset, c.period,
           COALESCE(CAST(substr(c.period_start, 1, 4) AS INT) * 12 + CAST(substr(c.period_start, 6, 2) AS INT) - 1, d.first_i) AS first_i,
           COALESCE(CAST(substr(c.period_end, 1, 4) AS INT) * 12 + CAST(substr(c.period_end, 6, 2) AS INT) - 1, d.last_i) AS last_i
    FROM cells AS c
    JOIN checked AS k ON k.dataset = c.dataset
    LEFT JOIN (SELECT dataset, MIN(i) AS first_i, MAX(i) AS last_i FROM present_index GROUP BY dataset) AS d
      ON d.dataset = c.dataset
),
-- 0..1999: a span of up to 166 years, from VALUES alone (a table function would be a table
-- reference outside `needs`, which the engine refuses).
offsets AS (
    SELECT a.n * 1000 + b.n * 100 + c.n * 10 + d.n AS n
    FROM (VALUES (0), (1)) AS a (n)
    CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS b (n)
    CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS c (n)
    CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS d (n)
),
calendar AS (
    SELECT s.dataset, s.period, s.first_i + o.n AS i
    FROM spans AS s CROSS JOIN offsets AS o
    WHERE s.first_i + o.n <= s.last_i
),
missing AS (
    SELECT m.dataset, m.period,
           string_agg(CAST(m.i / 12 AS VARCHAR) || '-' || lpad(CAST(m.i % 12 + 1 AS VARCHAR), 2, '0'), ';' ORDER BY m.i) AS months
    FROM calendar AS m
    LEFT JOIN present_index AS p ON p.dataset = m.dataset AND p.i = m.i
    WHERE p.i IS NULL
    GROUP BY m.dataset, m.period
)
SELECT p.partner, c.dataset, c.period,
       c.rows_received, c.rows_staged, c.rows_rejected,
       CASE WHEN k.dataset IS NULL THEN NULL ELSE COALESCE(m.months, '') END AS missing_months,
       CAST(s.first_i / 12 AS VARCHAR) || '-' || lpad(CAST(s.first_i % 12 + 1 AS VARCHAR), 2, '0') AS first_month,
       CAST(s.last_i / 12 AS VARCHAR) || '-' || lpad(CAST(s.last_i % 12 + 1 AS VARCHAR), 2, '0') AS last_month
FROM cells AS c
JOIN partners AS p ON p.dataset = c.dataset AND p.period = c.period
LEFT JOIN checked AS k ON k.dataset = c.dataset
LEFT JOIN spans AS s ON s.dataset = c.dataset AND s.period = c.period
LEFT JOIN missing AS m ON m.dataset = c.dataset AND m.period = c.period
