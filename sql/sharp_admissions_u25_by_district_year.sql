-- Emergency admissions for assault with a sharp object (cause 'sharp_object', X99), aged
-- under 25, by district x year, with margins. Under 25 means the age bands flagged under_25
-- in the age_bands definitions. The partner's suppression is respected and never undone:
-- a cell whose sum includes a partner-suppressed row is marked `suppressed` and counts the
-- rows the partner shared (SUM skips the NULLs), a lower bound that publish flags as one; a
-- cell with no shared row at all has a NULL count (published as [p]).
WITH under_25 AS (
    SELECT DISTINCT age_band FROM age_bands WHERE under_25
),
admissions AS (
    SELECT
        h.lad_code AS lad,
        substr(h.month, 1, 4) AS yr,
        h.admissions,
        CASE WHEN h.suppressed THEN 1 ELSE 0 END AS withheld
    FROM hospital_admissions_agg AS h
    JOIN under_25 AS u
        ON u.age_band = h.age_band
    WHERE h.cause = 'sharp_object'
)
SELECT
    COALESCE(lad, 'Total') AS lad_code,
    COALESCE(yr, 'Total') AS year,
    SUM(admissions) AS admissions,
    MAX(withheld) = 1 AS suppressed
FROM admissions
GROUP BY CUBE (lad, yr)
