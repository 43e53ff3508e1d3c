-- Emergency-department assault attendances by assault method and month of arrival, with
-- margins ('Total').
WITH cells AS (
    SELECT assault_method, to_char(arrival_datetime, '%Y-%m') AS month, COUNT(*) AS attendances
    FROM ed_assaults
    GROUP BY assault_method, to_char(arrival_datetime, '%Y-%m')
)
SELECT assault_method, month, attendances FROM cells
UNION ALL
SELECT assault_method, 'Total' AS month, SUM(attendances) AS attendances FROM cells GROUP BY assault_method
UNION ALL
SELECT 'Total' AS assault_method, month, SUM(attendances) AS attendances FROM cells GROUP BY month
UNION ALL
SELECT 'Total' AS assault_method, 'Total' AS month, SUM(attendances) AS attendances FROM cells
