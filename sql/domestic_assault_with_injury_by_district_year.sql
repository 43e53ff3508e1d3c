-- Domestic-flagged offences of the codes the definitions report separately from serious
-- violence (exclude_if_domestic in sv_offence_codes: assault with injury by default), by
-- district x year, with margins. An offence with no LSOA, or one outside the lookup, is
-- counted under district 'Unknown'.
WITH base AS (
    SELECT
        COALESCE(g.lad_code, 'Unknown') AS lad,
        CAST(CAST(date_part('year', o.offence_date) AS INT) AS VARCHAR) AS yr
    FROM police_offences AS o
    JOIN sv_offence_codes AS d
        ON d.ho_code = o.ho_code
    LEFT JOIN lsoa_lookup AS g
        ON g.lsoa_code = o.lsoa_code
    WHERE d.exclude_if_domestic AND o.domestic_flag
)
SELECT
    COALESCE(lad, 'Total') AS lad_code,
    COALESCE(yr, 'Total') AS year,
    COUNT(*) AS offences
FROM base
GROUP BY CUBE (lad, yr)
