-- Serious-violence offences by district and month, with each district's total over all
-- months, the county total per month, and the grand total ('Total' marks a margin).
WITH cells AS (
    SELECT lad_code, month, COUNT(*) AS offences
    FROM sv_offences
    GROUP BY lad_code, month
)
SELECT lad_code, month, offences FROM cells
UNION ALL
SELECT lad_code, 'Total' AS month, SUM(offences) AS offences FROM cells GROUP BY lad_code
UNION ALL
SELECT 'Total' AS lad_code, month, SUM(offences) AS offences FROM cells GROUP BY month
UNION ALL
SELECT 'Total' AS lad_code, 'Total' AS month, SUM(offences) AS offences FROM cells
