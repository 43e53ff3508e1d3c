//! Synthetic identifiers with realistic errors, for measuring linkage (issue 17).
//!
//! One table of true people (forename, surname, date of birth, sex, postcode, NHS number, PNC
//! ID, UPN), and each partner's view of the people it knows: the identifiers that partner
//! holds, as its systems record them, with the errors real extracts have: typos in names,
//! nicknames (`Bill` for `William`), a changed surname, day and month of birth swapped, a
//! moved postcode, a missing NHS number or PNC ID, and each partner's own date layout. The
//! truth (which true person every record is) is kept, so a test can measure the precision
//! and recall of linkage on the match keys against it.
//!
//! Which partner holds what, as in practice: police and probation hold PNC IDs; youth justice
//! PNC IDs for some and NHS numbers for some; schools UPNs and no PNC ID; nobody shares one
//! identifier with everybody, so only names, dates of birth and postcodes link schools with
//! police.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

use crate::rng::{Stream, stream};

/// The partners that hold person-level data, as they name themselves in an extract.
pub const PARTNERS: [&str; 4] = ["police", "youth_justice", "probation", "education"];

/// A true person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruePerson {
    pub forename: String,
    pub surname: String,
    pub dob: NaiveDate,
    /// `M` or `F`.
    pub sex: &'static str,
    pub postcode: String,
    pub nhs: String,
    pub pnc: String,
    pub upn: String,
}

/// One partner's record of a person: raw fields as that partner's extract holds them (empty
/// when it does not hold or lacks the identifier) and, kept apart, who it truly is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    pub partner: &'static str,
    /// The partner's own reference for the person (unique within the partner).
    pub local_id: String,
    pub forename: String,
    pub surname: String,
    pub dob: String,
    pub sex: String,
    pub postcode: String,
    pub nhs: String,
    pub pnc: String,
    pub upn: String,
    /// Index of the true person in [`Population::people`] (the truth, never in an extract).
    pub truth: usize,
}

/// Error rates of a partner's view of a person.
#[derive(Debug, Clone, Copy)]
pub struct ErrorRates {
    pub forename_typo: f64,
    pub surname_typo: f64,
    /// A nickname in place of a forename that has one.
    pub nickname: f64,
    /// A different surname (marriage, a step-parent's name, a new name).
    pub changed_surname: f64,
    /// Day and month of birth swapped (only possible when the day is at most 12).
    pub swapped_day_month: f64,
    /// A postcode from another address (half in the same district).
    pub moved: f64,
    pub missing_postcode: f64,
    pub missing_sex: f64,
}

/// Rates of the kind seen in administrative data (per record).
pub const REALISTIC: ErrorRates = ErrorRates {
    forename_typo: 0.03,
    surname_typo: 0.03,
    nickname: 0.15,
    changed_surname: 0.03,
    swapped_day_month: 0.02,
    moved: 0.15,
    missing_postcode: 0.05,
    missing_sex: 0.02,
};

/// The true people and every partner's records of them.
#[derive(Debug, Clone)]
pub struct Population {
    pub people: Vec<TruePerson>,
    pub records: Vec<PartnerRecord>,
}

const FORENAMES_M: &[&str] = &[
    "William",
    "Robert",
    "Thomas",
    "James",
    "Daniel",
    "Michael",
    "Joseph",
    "Christopher",
    "Edward",
    "Richard",
    "Benjamin",
    "Samuel",
    "Oliver",
    "Jacob",
    "Harry",
    "George",
    "Jack",
    "Charlie",
    "Leo",
    "Noah",
    "Oscar",
    "Ethan",
    "Alfie",
    "Liam",
    "Mason",
    "Logan",
    "Lucas",
    "Kai",
    "Tyler",
    "Callum",
    "Connor",
    "Kieran",
    "Reece",
    "Jordan",
    "Bradley",
    "Nathan",
    "Ryan",
    "Jake",
    "Dylan",
    "Lewis",
    "Aaron",
    "Adam",
    "Jamie",
    "Owen",
    "Luke",
    "Matthew",
    "Anthony",
    "Stephen",
    "Nicholas",
    "Jonathan",
    "Andrew",
    "Peter",
    "Mohammed",
    "Ali",
    "Zain",
    "Jakub",
    "Mateusz",
    "Florin",
    "Dawid",
    "Kacper",
];
const FORENAMES_F: &[&str] = &[
    "Elizabeth",
    "Catherine",
    "Margaret",
    "Victoria",
    "Jennifer",
    "Susan",
    "Deborah",
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Evie",
    "Ella",
    "Poppy",
    "Chloe",
    "Jessica",
    "Megan",
    "Holly",
    "Leah",
    "Courtney",
    "Paige",
    "Shannon",
    "Jade",
    "Chelsea",
    "Abigail",
    "Bethany",
    "Lauren",
    "Natalie",
    "Rebecca",
    "Danielle",
    "Amber",
    "Niamh",
    "Zara",
    "Aisha",
    "Maya",
    "Julia",
    "Zuzanna",
    "Oliwia",
    "Ioana",
    "Chantelle",
    "Kayleigh",
    "Demi",
];
const SURNAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "James",
    "Phillips",
    "Mason",
    "Mitchell",
    "Rose",
    "Davis",
    "Rodriguez",
    "Cox",
    "Alexander",
    "Garden",
    "Campbell",
    "Johnston",
    "Moore",
    "Smyth",
    "O'Neill",
    "Doherty",
    "Stewart",
    "Quinn",
    "Murphy",
    "Graham",
    "Mc Laughlin",
    "Hamilton",
    "Murray",
    "Hughes",
    "Robertson",
    "Thomson",
    "Scott",
    "Macdonald",
    "Reid",
    "Clark",
    "Ross",
    "Young",
    "Watson",
    "Paterson",
    "Morrison",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Wójcik",
    "Popescu",
    "Ionescu",
    "Hussain",
    "Ahmed",
    "Begum",
    "Ali",
    "Shah",
    "Rahman",
    "Singh",
    "Kaur",
    "Gill",
    "Sandhu",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Osei",
    "Nguyen",
    "Chen",
    "Wang",
    "Li",
    "Baker",
    "Carter",
    "Turner",
    "Parker",
    "Collins",
    "Edwards",
    "Stewart-Hall",
    "Morris",
    "Cook",
    "Morgan",
    "Bell",
    "Bailey",
    "Cooper",
    "Richardson",
    "Howard",
    "Ward",
    "Price",
    "Bennett",
    "Gray",
    "Hughes-Jones",
    "Fletcher",
    "Marshall",
    "Lloyd",
    "Holmes",
    "Knight",
    "Foster",
    "Ellis",
    "Harrison",
    "Gibson",
    "McCarthy",
    "Sullivan",
    "Kennedy",
    "Burke",
    "Byrne",
    "Dunne",
    "Lynch",
    "Brennan",
    "Fitzgerald",
    "Walsh",
    "Kelly",
    "Ryan",
    "Doyle",
    "Nolan",
    "Duffy",
    "Power",
];
/// Nicknames a partner may record instead of the forename (all in the built-in variants).
const NICKNAMES: &[(&str, &str)] = &[
    ("William", "Bill"),
    ("William", "Will"),
    ("Robert", "Bob"),
    ("Robert", "Rob"),
    ("Thomas", "Tom"),
    ("James", "Jim"),
    ("Daniel", "Danny"),
    ("Michael", "Mike"),
    ("Joseph", "Joe"),
    ("Edward", "Ted"),
    ("Richard", "Rick"),
    ("Benjamin", "Ben"),
    ("Matthew", "Matt"),
    ("Anthony", "Tony"),
    ("Stephen", "Steve"),
    ("Nicholas", "Nick"),
    ("Jonathan", "Jon"),
    ("Andrew", "Andy"),
    ("Peter", "Pete"),
    ("Elizabeth", "Liz"),
    ("Elizabeth", "Beth"),
    ("Catherine", "Kate"),
    ("Margaret", "Maggie"),
    ("Victoria", "Vicky"),
    ("Jennifer", "Jenny"),
    ("Susan", "Sue"),
    ("Deborah", "Debbie"),
    ("Abigail", "Abby"),
];

fn pick<'a>(rng: &mut Stream, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

fn nhs_number(rng: &mut Stream) -> String {
    loop {
        let nine: [u8; 9] = std::array::from_fn(|_| b'0' + rng.random_range(0..10u8));
        if let Some(check) = svna_pseudonymise::nhs_check_digit(&nine) {
            let mut s: String = nine.iter().map(|&b| b as char).collect();
            s.push(char::from(b'0' + check));
            return s;
        }
    }
}

fn postcode(rng: &mut Stream, district: Option<u32>) -> String {
    let district = district.unwrap_or_else(|| rng.random_range(1..=12));
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    let l = |rng: &mut Stream| letters[rng.random_range(0..letters.len())] as char;
    format!(
        "LN{district} {}{}{}",
        rng.random_range(1..10),
        l(rng),
        l(rng)
    )
}

fn district_of(postcode: &str) -> Option<u32> {
    postcode.split(' ').next()?.strip_prefix("LN")?.parse().ok()
}

/// A one-letter typo: a substitution, a deletion, a doubling or two letters swapped.
fn typo(rng: &mut Stream, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 3 {
        return name.to_string();
    }
    // Never the first letter: typists get initials right far more often.
    let i = rng.random_range(1..chars.len());
    match rng.random_range(0..4) {
        0 => chars[i] = (b'a' + rng.random_range(0..26u8)) as char,
        1 => {
            chars.remove(i);
        }
        2 => chars.insert(i, chars[i]),
        _ if i + 1 < chars.len() => chars.swap(i, i + 1),
        _ => chars.swap(i - 1, i),
    }
    chars.into_iter().collect()
}

fn true_person(rng: &mut Stream, index: usize) -> TruePerson {
    let male = rng.random_bool(0.7);
    let forename = pick(rng, if male { FORENAMES_M } else { FORENAMES_F });
    let surname = pick(rng, SURNAMES);
    // Ages 10-40 at 2024.
    let dob = NaiveDate::from_ymd_opt(1984, 1, 1).unwrap()
        + chrono::Days::new(rng.random_range(0..(30 * 365)));
    TruePerson {
        forename: forename.to_string(),
        surname: surname.to_string(),
        dob,
        sex: if male { "M" } else { "F" },
        postcode: postcode(rng, None),
        nhs: nhs_number(rng),
        pnc: format!(
            "{}/{:07}{}",
            dob.year() + 14,
            index,
            (b'A' + (index % 26) as u8) as char
        ),
        upn: format!(
            "{}{:011}{}",
            (b'A' + (index % 26) as u8) as char,
            index,
            index % 10
        ),
    }
}

/// What a partner holds, and how it writes dates of birth.
struct Holds {
    nhs: f64,
    pnc: f64,
    upn: f64,
    dob_layout: fn(NaiveDate) -> String,
}

fn holds(partner: &str) -> Holds {
    match partner {
        "police" => Holds {
            nhs: 0.0,
            pnc: 0.85,
            upn: 0.0,
            dob_layout: |d| d.format("%d/%m/%Y").to_string(),
        },
        "youth_justice" => Holds {
            nhs: 0.5,
            pnc: 0.5,
            upn: 0.0,
            dob_layout: |d| d.format("%Y%m%d").to_string(),
        },
        "probation" => Holds {
            nhs: 0.0,
            pnc: 0.95,
            upn: 0.0,
            dob_layout: |d| d.format("%d-%b-%Y").to_string(),
        },
        _ => Holds {
            nhs: 0.0,
            pnc: 0.0,
            upn: 0.9,
            dob_layout: |d| d.format("%Y-%m-%d").to_string(),
        },
    }
}

fn observe(
    rng: &mut Stream,
    person: &TruePerson,
    truth: usize,
    partner: &'static str,
    local: usize,
    rates: &ErrorRates,
) -> PartnerRecord {
    let holds = holds(partner);
    let mut forename = person.forename.clone();
    let nicknames: Vec<&str> = NICKNAMES
        .iter()
        .filter(|(f, _)| *f == forename)
        .map(|(_, n)| *n)
        .collect();
    if !nicknames.is_empty() && rng.random_bool(rates.nickname) {
        forename = pick(rng, &nicknames).to_string();
    }
    if rng.random_bool(rates.forename_typo) {
        forename = typo(rng, &forename);
    }
    let mut surname = person.surname.clone();
    if rng.random_bool(rates.changed_surname) {
        surname = pick(rng, SURNAMES).to_string();
    } else if rng.random_bool(rates.surname_typo) {
        surname = typo(rng, &surname);
    }
    // Case and spacing differ between systems.
    if partner == "police" {
        surname = surname.to_uppercase();
    }
    let mut dob = person.dob;
    if dob.day() <= 12 && dob.day() != dob.month() && rng.random_bool(rates.swapped_day_month) {
        dob = NaiveDate::from_ymd_opt(dob.year(), dob.day(), dob.month()).unwrap_or(dob);
    }
    let postcode = if rng.random_bool(rates.missing_postcode) {
        if rng.random_bool(0.5) {
            "NFA".to_string()
        } else {
            String::new()
        }
    } else if rng.random_bool(rates.moved) {
        let same = rng
            .random_bool(0.5)
            .then(|| district_of(&person.postcode))
            .flatten();
        postcode(rng, same)
    } else {
        person.postcode.clone()
    };
    let sex = if rng.random_bool(rates.missing_sex) {
        "U".to_string()
    } else if partner == "education" {
        if person.sex == "M" { "Male" } else { "Female" }.to_string()
    } else {
        person.sex.to_string()
    };
    let held = |rng: &mut Stream, p: f64, value: &str| {
        if p > 0.0 && rng.random_bool(p) {
            value.to_string()
        } else {
            String::new()
        }
    };
    PartnerRecord {
        partner,
        local_id: format!("{partner}-{local:06}"),
        forename,
        surname,
        dob: (holds.dob_layout)(dob),
        sex,
        postcode,
        nhs: held(rng, holds.nhs, &person.nhs),
        pnc: held(rng, holds.pnc, &person.pnc),
        upn: held(rng, holds.upn, &person.upn),
        truth,
    }
}

/// `n` true people and each partner's records of those it knows: every person is known to
/// one to four partners (most to one), so most records have no true match elsewhere.
pub fn population(seed: u64, n: usize, rates: &ErrorRates) -> Population {
    let mut rng = stream(seed, "identities");
    let people: Vec<TruePerson> = (0..n).map(|i| true_person(&mut rng, i)).collect();
    let mut records = Vec::new();
    let mut local = [0usize; PARTNERS.len()];
    for (truth, person) in people.iter().enumerate() {
        let known = match rng.random_range(0..100) {
            0..55 => 1,
            55..80 => 2,
            80..93 => 3,
            _ => 4,
        };
        let mut partners: Vec<usize> = (0..PARTNERS.len()).collect();
        for i in 0..known {
            let j = rng.random_range(i..partners.len());
            partners.swap(i, j);
        }
        for &p in &partners[..known] {
            local[p] += 1;
            records.push(observe(
                &mut rng,
                person,
                truth,
                PARTNERS[p],
                local[p],
                rates,
            ));
        }
    }
    Population { people, records }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populations_are_deterministic_and_hold_what_partners_hold() {
        let a = population(7, 300, &REALISTIC);
        let b = population(7, 300, &REALISTIC);
        assert_eq!(a.records, b.records);
        assert!(a.records.len() > 300);
        for r in &a.records {
            match r.partner {
                "education" => assert!(r.pnc.is_empty() && r.nhs.is_empty()),
                "police" | "probation" => assert!(r.nhs.is_empty() && r.upn.is_empty()),
                _ => assert!(r.upn.is_empty()),
            }
            assert!(!r.forename.is_empty() && !r.dob.is_empty());
        }
        // Every identifier normalises (no impossible date, no malformed postcode).
        for r in &a.records {
            let mut id = svna_pseudonymise::Identity::default();
            use svna_pseudonymise::Identifier::*;
            for (i, v) in [
                (Forename, &r.forename),
                (Surname, &r.surname),
                (Dob, &r.dob),
                (Sex, &r.sex),
                (Postcode, &r.postcode),
                (Nhs, &r.nhs),
                (Pnc, &r.pnc),
                (Upn, &r.upn),
            ] {
                id.set(i, v).unwrap_or_else(|e| panic!("{i}: {e}"));
            }
        }
    }
}
