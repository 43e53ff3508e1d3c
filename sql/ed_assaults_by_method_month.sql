-- Emergency-department assault attendances by assault method and month of arrival, with
-- margins ('Total'). Both columns are required by the contract, so a NULL from CUBE marks a
-- margin. Attendances are counted by month start first and the month formatted as text only
-- for those few rows (formatting every attendance's timestamp cost more than the count).
WITH counted AS (
    SELECT assault_method, date_trunc('month', arrival_datetime) AS month_start, COUNT(*) AS n
    FROM ed_assaults
    GROUP BY assault_method, date_trunc('month', arrival_datetime)
),
cells AS (
    SELECT assault_method AS method, to_char(month_start, '%Y-%m') AS mon, n FROM counted
)
SELECT
    COALESCE(method, 'Total') AS assault_method,
    COALESCE(mon, 'Total') AS month,
    SUM(n) AS attendances
FROM cells
GROUP BY CUBE (method, mon)
