-- Person linkage (row-level): which person tokens are one person. Partners that share no
-- identifier send match keys (mk_* token columns, contract version 2); two person tokens
-- are one person when any of their records share a match key, strongest key first (the
-- national ids, then full name + date of birth + sex, …). One person per connected component,
-- found by link_persons (a Rust aggregate registered in every stage session: SQL cannot
-- iterate to a fixed point, see crates/engine/src/linkage.rs), with a guard: a component of
-- more than 50 person tokens is split back to the components its stronger keys alone make
-- (`split`), which the linkage quality report counts. Edit the 50 below to change the guard.
-- A person token none of whose records carries a match key (version-1 data) is not listed:
-- stages then use the token itself.
WITH records AS (
    SELECT person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex, mk_name_dob_swapped,
        mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM police_persons
    UNION ALL
    SELECT person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex, mk_name_dob_swapped,
        mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM youth_justice
    UNION ALL
    SELECT person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex, mk_name_dob_swapped,
        mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM probation
    UNION ALL
    SELECT person_id, mk_nhs, mk_pnc, mk_upn, mk_name_dob_sex, mk_name_dob_swapped,
        mk_init_surname_dob, mk_forename_dob_pcd, mk_surname_dob_pc
    FROM school_suspensions
),
-- Key strength: the order of svna_pseudonymise::MatchKey::ALL.
edges AS (
    SELECT person_id AS node, mk_nhs AS match_key, 1 AS strength FROM records WHERE mk_nhs IS NOT NULL
    UNION ALL
    SELECT person_id, mk_pnc, 2 FROM records WHERE mk_pnc IS NOT NULL
    UNION ALL
    SELECT person_id, mk_upn, 3 FROM records WHERE mk_upn IS NOT NULL
    UNION ALL
    SELECT person_id, mk_name_dob_sex, 4 FROM records WHERE mk_name_dob_sex IS NOT NULL
    UNION ALL
    SELECT person_id, mk_name_dob_swapped, 5 FROM records WHERE mk_name_dob_swapped IS NOT NULL
    UNION ALL
    SELECT person_id, mk_init_surname_dob, 6 FROM records WHERE mk_init_surname_dob IS NOT NULL
    UNION ALL
    SELECT person_id, mk_forename_dob_pcd, 7 FROM records WHERE mk_forename_dob_pcd IS NOT NULL
    UNION ALL
    SELECT person_id, mk_surname_dob_pc, 8 FROM records WHERE mk_surname_dob_pc IS NOT NULL
),
linked AS (
    SELECT unnest(link_persons(node, match_key, strength, 50)) AS link
    FROM edges
)
SELECT
    split_part(link, '|', 1) AS person_id,
    split_part(link, '|', 2) AS linked_person_id,
    split_part(link, '|', 3) = '1' AS split
FROM linked
