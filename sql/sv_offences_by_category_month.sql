-- Serious-violence offences in the partnership by category x month of the offence, with the
-- knife-enabled count, and every margin ('Total'): the monthly shape of each kind of serious
-- violence (issue 16). Partnership level only: by district, months of one category are
-- mostly too few to publish. The category comes from the sv_offence_codes definitions (via
-- sv_offences); the grouped columns are never NULL, so a NULL from CUBE marks a margin.
WITH base AS (
    SELECT
        category AS cat,
        month AS mon,
        CASE WHEN knife_flag THEN 1 ELSE 0 END AS knife
    FROM sv_offences
)
SELECT
    COALESCE(cat, 'Total') AS category,
    COALESCE(mon, 'Total') AS month,
    COUNT(*) AS offences,
    SUM(knife) AS knife_offences
FROM base
GROUP BY CUBE (cat, mon)
