-- Linkage quality (aggregate): how each partner's persons link with each other partner's,
-- and by which key. A person here is a person token of one partner (its own records of one
-- person share a token). For every partner and every other partner, each person counts once:
-- under the strongest key it shares with a record of the other partner (`person_id`: the
-- same token, version-1 linkage; then the match keys, strongest first), or under `none`.
-- The count is of person-partner links, so every margin is the sum of its parts: a
-- `linked_with = 'Total'` row counts each person once per other partner. A partner whose
-- persons link with nobody (`none` = all, for every other partner) is the sign of a wrong
-- key or a broken export: the pipeline's test warns about it.
WITH records AS (
    SELECT 'police' AS partner, person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex,
        mk_name_dob_swapped, mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM police_persons
    UNION ALL
    SELECT 'youth_justice', person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex,
        mk_name_dob_swapped, mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM youth_justice
    UNION ALL
    SELECT 'probation', person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex,
        mk_name_dob_swapped, mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM probation
    UNION ALL
    SELECT 'education', person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex,
        mk_name_dob_swapped, mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM school_suspensions
),
key_names (strength, match_key) AS (
    VALUES (0, 'person_id'), (1, 'mk_nhs'), (2, 'mk_pnc'), (3, 'mk_upn'), (4, 'mk_name_dob_sex'),
        (5, 'mk_name_dob_swapped'), (6, 'mk_init_surname_dob'), (7, 'mk_forename_dob_pcd'),
        (8, 'mk_surname_dob_pc')
),
keyed AS (
    SELECT partner, person_id, 0 AS strength, person_id AS token FROM records
    UNION ALL
    SELECT partner, person_id, 1, mk_nhs FROM records WHERE mk_nhs IS NOT NULL
    UNION ALL
    SELECT partner, person_id, 2, mk_pnc FROM records WHERE mk_pnc IS NOT NULL
    UNION ALL
    SELECT partner, person_id, 3, mk_upn FROM records WHERE mk_upn IS NOT NULL
    UNION ALL
    SELECT partner, person_id, 4, mk_name_dob_sex FROM records WHERE mk_name_dob_sex IS NOT NULL
    UNION ALL
    SELECT partner, person_id, 5, mk_name_dob_swapped FROM records WHERE mk_name_dob_swapped IS NOT NULL
    UNION ALL
    SELECT partner, person_id, 6, mk_init_surname_dob FROM records WHERE mk_init_surname_dob IS NOT NULL
    UNION ALL
    SELECT partner, person_id, 7, mk_forename_dob_pcd FROM records WHERE mk_forename_dob_pcd IS NOT NULL
    UNION ALL
    SELECT partner, person_id, 8, mk_surname_dob_pc FROM records WHERE mk_surname_dob_pc IS NOT NULL
),
-- The tokens of each partner, once each: the side a person's keys are looked up in.
tokens AS (
    SELECT DISTINCT partner, strength, token FROM keyed
),
-- Per person and other partner: the strongest key they share. A person's repeated records
-- need no DISTINCT first: they only repeat a (person, key) pair, which MIN ignores.
strongest AS (
    SELECT a.partner, b.partner AS linked_with, a.person_id, MIN(a.strength) AS strength
    FROM keyed AS a
    JOIN tokens AS b
        ON b.token = a.token AND b.strength = a.strength AND b.partner <> a.partner
    GROUP BY a.partner, b.partner, a.person_id
),
-- Each partner's persons, counted table by table (one column each is the fast path);
-- a partner with no records is no other partner of anyone's.
persons AS (
    SELECT partner, persons FROM (
        SELECT 'police' AS partner, COUNT(DISTINCT person_id) AS persons FROM police_persons
        UNION ALL
        SELECT 'youth_justice', COUNT(DISTINCT person_id) FROM youth_justice
        UNION ALL
        SELECT 'probation', COUNT(DISTINCT person_id) FROM probation
        UNION ALL
        SELECT 'education', COUNT(DISTINCT person_id) FROM school_suspensions
    ) AS counts
    WHERE persons > 0
),
linked AS (
    SELECT partner, linked_with, strength, COUNT(*) AS n
    FROM strongest
    GROUP BY partner, linked_with, strength
),
-- The persons linked by nothing: a partner's persons less those linked, per other partner
-- (every partner with records is an other partner of every other one). Counting them
-- rather than listing every person against every other partner keeps the stage's cost to
-- the linked persons.
unlinked AS (
    SELECT p.partner, o.partner AS linked_with,
        p.persons - COALESCE(SUM(l.n), 0) AS n
    FROM persons AS p
    JOIN persons AS o
        ON o.partner <> p.partner
    LEFT JOIN linked AS l
        ON l.partner = p.partner AND l.linked_with = o.partner
    GROUP BY p.partner, o.partner, p.persons
),
counted AS (
    SELECT l.partner, l.linked_with, k.match_key, l.n
    FROM linked AS l
    JOIN key_names AS k
        ON k.strength = l.strength
    UNION ALL
    SELECT partner, linked_with, 'none', n FROM unlinked WHERE n > 0
)
SELECT
    COALESCE(partner, 'Total') AS partner,
    COALESCE(linked_with, 'Total') AS linked_with,
    COALESCE(match_key, 'Total') AS match_key,
    SUM(n) AS person_links
FROM counted
GROUP BY CUBE (partner, linked_with, match_key)
