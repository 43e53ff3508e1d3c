-- Children's social-care assessments by district x factor x quarter (pre-aggregated by the
-- partner), with margins. A cell whose sum includes a partner-suppressed row is marked
-- `suppressed` and counts the rows the partner shared (a lower bound, flagged as one when
-- published); a cell with no shared row has a NULL count ([p]). An assessment can record several factors, so the factor
-- margin counts factor mentions, not assessments.
WITH cells AS (
    SELECT
        lad_code AS lad,
        factor AS fac,
        quarter AS qtr,
        assessments,
        CASE WHEN suppressed THEN 1 ELSE 0 END AS withheld
    FROM social_care_factors_agg
)
SELECT
    COALESCE(lad, 'Total') AS lad_code,
    COALESCE(fac, 'Total') AS factor,
    COALESCE(qtr, 'Total') AS quarter,
    SUM(assessments) AS assessments,
    MAX(withheld) = 1 AS suppressed
FROM cells
GROUP BY CUBE (lad, fac, qtr)
