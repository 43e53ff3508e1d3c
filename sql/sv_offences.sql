-- Serious-violence offences, one row per offence, with geography and the definition that
-- made it serious violence. Row-level: stays in the work zone.
-- Definitions come from the sv_offence_codes reference table, not from literals here.
SELECT
    o.offence_id,
    o.offence_date,
    to_char(o.offence_date, '%Y-%m') AS month,
    to_char(o.recorded_date, '%Y-%m') AS recorded_month,
    CAST(date_part('year', o.offence_date) AS INT) AS year,
    o.offence_hour,
    d.category,
    o.knife_flag,
    o.firearm_flag,
    o.domestic_flag,
    o.location_type,
    o.lsoa_code,
    COALESCE(g.ward_code, 'Unknown') AS ward_code,
    COALESCE(g.lad_code, 'Unknown') AS lad_code
FROM police_offences AS o
JOIN sv_offence_codes AS d
    ON d.ho_code = o.ho_code
LEFT JOIN lsoa_lookup AS g
    ON g.lsoa_code = o.lsoa_code
WHERE d.serious_violence
  AND NOT (d.exclude_if_domestic AND o.domestic_flag)
