//! The demo catalog: countries and operators that look like Reloadly's, with number prefixes so
//! that auto-detection works for realistic numbers (`+63917…` is Globe).

use std::collections::HashSet;

use topup_core::{Currency, Decimal};

#[derive(Clone)]
pub(crate) struct Country {
    pub iso: &'static str,
    pub name: &'static str,
    pub currency: &'static str,
    pub currency_name: &'static str,
    pub currency_symbol: &'static str,
    pub calling_code: &'static str,
}

#[derive(Clone)]
pub(crate) enum Denomination {
    /// Amounts in the sender (account) currency, each with an optional plan description.
    Fixed(Vec<(Decimal, Option<&'static str>)>),
    Range {
        min: Decimal,
        max: Decimal,
    },
}

#[derive(Clone)]
pub(crate) struct Operator {
    pub id: u64,
    pub name: &'static str,
    pub country: &'static str,
    pub data: bool,
    pub bundle: bool,
    pub denomination: Denomination,
    pub destination_currency: &'static str,
    pub destination_symbol: &'static str,
    /// Destination-currency units per one sender-currency unit.
    pub fx_rate: Decimal,
    /// Percent of the requested amount given back as discount.
    pub commission: Decimal,
    pub slug: &'static str,
    /// National-number prefixes used for auto-detection (airtime operators only).
    pub prefixes: &'static [&'static str],
    pub supports_local_amounts: bool,
}

impl Operator {
    pub fn is_airtime(&self) -> bool {
        !self.data && !self.bundle
    }

    /// Rounds a destination-currency amount to that currency's minor unit.
    pub fn round_local(&self, value: Decimal) -> Decimal {
        let places = Currency::parse(self.destination_currency)
            .map(|c| c.exponent())
            .unwrap_or(2);
        value.round_dp(places)
    }

    pub fn local_of(&self, sender_amount: Decimal) -> Decimal {
        self.round_local(sender_amount * self.fx_rate)
    }
}

#[derive(Clone)]
pub(crate) struct Catalog {
    pub countries: Vec<Country>,
    pub operators: Vec<Operator>,
}

/// What a test has taken out of the listed catalog.
#[derive(Default)]
pub(crate) struct Withdrawn {
    pub countries: HashSet<String>,
    pub operators: HashSet<u64>,
    /// (operator id, normalized sender amount)
    pub amounts: HashSet<(u64, String)>,
}

impl Catalog {
    /// A copy without what was withdrawn (cheap: the demo catalog is small).
    pub fn without(&self, withdrawn: &Withdrawn) -> Catalog {
        if withdrawn.countries.is_empty()
            && withdrawn.operators.is_empty()
            && withdrawn.amounts.is_empty()
        {
            return self.clone();
        }
        let countries = self
            .countries
            .iter()
            .filter(|c| !withdrawn.countries.contains(c.iso))
            .cloned()
            .collect();
        let operators = self
            .operators
            .iter()
            .filter(|o| {
                !withdrawn.operators.contains(&o.id) && !withdrawn.countries.contains(o.country)
            })
            .map(|o| {
                let mut o = o.clone();
                if let Denomination::Fixed(amounts) = &mut o.denomination {
                    amounts.retain(|(a, _)| {
                        !withdrawn
                            .amounts
                            .contains(&(o.id, a.normalize().to_string()))
                    });
                }
                o
            })
            .collect();
        Catalog {
            countries,
            operators,
        }
    }

    pub fn country(&self, iso: &str) -> Option<&Country> {
        self.countries
            .iter()
            .find(|c| c.iso.eq_ignore_ascii_case(iso))
    }

    pub fn operator(&self, id: u64) -> Option<&Operator> {
        self.operators.iter().find(|o| o.id == id)
    }

    pub fn operators_of(&self, iso: &str) -> impl Iterator<Item = &Operator> {
        self.operators
            .iter()
            .filter(move |o| o.country.eq_ignore_ascii_case(iso))
    }

    /// The airtime operator whose longest prefix matches the national number.
    pub fn detect(&self, iso: &str, national: &str) -> Option<&Operator> {
        self.operators_of(iso)
            .filter(|o| o.is_airtime())
            .filter_map(|o| {
                o.prefixes
                    .iter()
                    .filter(|p| national.starts_with(*p))
                    .map(|p| p.len())
                    .max()
                    .map(|len| (len, o))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, o)| o)
    }
}

fn usd(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn rate(mantissa: i64, scale: u32) -> Decimal {
    Decimal::new(mantissa, scale)
}

fn fixed(amounts: &[i64]) -> Denomination {
    Denomination::Fixed(amounts.iter().map(|c| (usd(*c), None)).collect())
}

fn plans(amounts: &[(i64, &'static str)]) -> Denomination {
    Denomination::Fixed(amounts.iter().map(|(c, d)| (usd(*c), Some(*d))).collect())
}

fn range(min_cents: i64, max_cents: i64) -> Denomination {
    Denomination::Range {
        min: usd(min_cents),
        max: usd(max_cents),
    }
}

struct OperatorSpec {
    id: u64,
    name: &'static str,
    country: &'static str,
    kind: Kind,
    denomination: Denomination,
    fx_rate: Decimal,
    slug: &'static str,
    prefixes: &'static [&'static str],
    local: bool,
}

#[derive(Clone, Copy)]
enum Kind {
    Airtime,
    Data,
    Bundle,
}

pub(crate) fn demo_catalog() -> Catalog {
    let countries = vec![
        country("PH", "Philippines", "PHP", "Philippine Peso", "₱", "+63"),
        country("ID", "Indonesia", "IDR", "Indonesian Rupiah", "Rp", "+62"),
        country("TH", "Thailand", "THB", "Thai Baht", "฿", "+66"),
        country("VN", "Vietnam", "VND", "Vietnamese Dong", "₫", "+84"),
        country("MY", "Malaysia", "MYR", "Malaysian Ringgit", "RM", "+60"),
        country("IN", "India", "INR", "Indian Rupee", "₹", "+91"),
        country("NG", "Nigeria", "NGN", "Nigerian Naira", "₦", "+234"),
        country("MX", "Mexico", "MXN", "Mexican Peso", "$", "+52"),
        country("US", "United States", "USD", "US Dollar", "$", "+1"),
        country("GB", "United Kingdom", "GBP", "British Pound", "£", "+44"),
        country("BR", "Brazil", "BRL", "Brazilian Real", "R$", "+55"),
        country("EG", "Egypt", "EGP", "Egyptian Pound", "E£", "+20"),
    ];
    let php = rate(5812, 2);
    let idr = rate(1578000, 2);
    let thb = rate(3547, 2);
    let vnd = rate(2541000, 2);
    let myr = rate(471, 2);
    let inr = rate(8321, 2);
    let ngn = rate(154250, 2);
    let mxn = rate(1712, 2);
    let one = rate(1, 0);
    let gbp = rate(79, 2);
    let brl = rate(502, 2);
    let egp = rate(4850, 2);
    use Kind::*;
    #[rustfmt::skip]
    let specs = vec![
        // Philippines
        op(173, "Globe Philippines", "PH", Airtime, range(50, 5000), php, "globe-philippines",
           &["905", "906", "915", "916", "917", "926", "927", "935", "936", "945", "953", "954",
             "955", "956", "965", "966", "967", "975", "977", "995", "997"], true),
        op(174, "Smart Philippines", "PH", Airtime, fixed(&[100, 200, 500, 1000, 2000]), php,
           "smart-philippines",
           &["907", "908", "909", "910", "911", "912", "913", "914", "918", "919", "920", "921",
             "928", "929", "930", "938", "939", "946", "947", "948", "949", "950", "951", "961",
             "998", "999"], true),
        op(1179, "DITO Philippines", "PH", Airtime, fixed(&[100, 300, 500, 1000]), php,
           "dito-philippines", &["895", "896", "897", "898", "991", "992", "993", "994"], false),
        op(1180, "Globe Philippines Data", "PH", Data,
           plans(&[(87, "GoSURF50: 2GB 3 days"), (172, "Go90: 8GB 7 days"),
                   (258, "GoUNLI180: 2GB 7 days + unli calls"), (517, "Go299: 24GB 30 days")]),
           php, "globe-philippines-data", &[], false),
        op(1181, "Smart Philippines Data", "PH", Bundle,
           plans(&[(86, "Giga Video 50: 2GB 7 days"), (171, "Giga Power 99: 4GB 7 days"),
                   (516, "Magic Data 299: 24GB no expiry")]),
           php, "smart-philippines-data", &[], false),
        // Indonesia
        op(318, "Telkomsel Indonesia", "ID", Airtime, fixed(&[100, 200, 300, 500, 1000]), idr,
           "telkomsel-indonesia",
           &["811", "812", "813", "821", "822", "823", "851", "852", "853"], true),
        op(319, "Indosat Ooredoo Indonesia", "ID", Airtime, range(60, 3000), idr,
           "indosat-indonesia", &["814", "815", "816", "855", "856", "857", "858"], true),
        op(320, "XL Axiata Indonesia", "ID", Airtime, fixed(&[100, 300, 600]), idr,
           "xl-indonesia", &["817", "818", "819", "859", "877", "878"], false),
        op(1320, "Telkomsel Indonesia Data", "ID", Data,
           plans(&[(130, "Internet 2GB 7 days"), (350, "Internet 8GB 30 days"),
                   (690, "Internet 25GB 30 days")]),
           idr, "telkomsel-indonesia-data", &[], false),
        // Thailand
        op(410, "AIS Thailand", "TH", Airtime, fixed(&[150, 300, 600, 1500]), thb, "ais-thailand",
           &["61", "62", "81", "84", "87", "89", "93"], true),
        op(411, "dtac Thailand", "TH", Airtime, range(100, 3000), thb, "dtac-thailand",
           &["63", "80", "85", "94", "95"], false),
        op(412, "TrueMove H Thailand", "TH", Airtime, fixed(&[150, 300, 900]), thb,
           "truemove-thailand", &["64", "65", "82", "83", "86", "88", "96", "97", "98", "99"],
           false),
        op(1410, "AIS Thailand Data", "TH", Data,
           plans(&[(199, "Net 2GB 7 days"), (599, "Net 15GB 30 days")]),
           thb, "ais-thailand-data", &[], false),
        // Vietnam
        op(505, "Viettel Vietnam", "VN", Airtime, fixed(&[100, 200, 500, 1000, 2000]), vnd,
           "viettel-vietnam",
           &["32", "33", "34", "35", "36", "37", "38", "39", "86", "96", "97", "98"], true),
        op(506, "Vinaphone Vietnam", "VN", Airtime, fixed(&[100, 200, 500, 1000]), vnd,
           "vinaphone-vietnam", &["81", "82", "83", "84", "85", "88", "91", "94"], true),
        op(507, "Mobifone Vietnam", "VN", Airtime, range(100, 2000), vnd, "mobifone-vietnam",
           &["70", "76", "77", "78", "79", "89", "90", "93"], false),
        op(1505, "Viettel Vietnam Data", "VN", Data,
           plans(&[(120, "ST30: 7GB 7 days"), (360, "ST90: 30GB 30 days")]),
           vnd, "viettel-vietnam-data", &[], false),
        // Malaysia
        op(601, "Maxis Malaysia", "MY", Airtime, fixed(&[220, 440, 1100, 2200]), myr,
           "maxis-malaysia", &["12", "142", "17"], true),
        op(602, "Celcom Malaysia", "MY", Airtime, range(110, 2200), myr, "celcom-malaysia",
           &["13", "19", "148"], false),
        op(603, "Digi Malaysia", "MY", Airtime, fixed(&[220, 660, 1100]), myr, "digi-malaysia",
           &["10", "14", "16", "146"], false),
        op(1601, "Maxis Malaysia Data", "MY", Data,
           plans(&[(320, "Hotlink 5GB 7 days"), (750, "Hotlink 20GB 30 days")]),
           myr, "maxis-malaysia-data", &[], false),
        // India
        op(700, "Airtel India", "IN", Airtime, range(100, 6000), inr, "airtel-india",
           &["97", "98", "99"], true),
        op(701, "Reliance Jio India", "IN", Airtime, fixed(&[180, 360, 900]), inr, "jio-india",
           &["6", "70", "79", "89"], true),
        op(702, "Vi India", "IN", Airtime, fixed(&[120, 240, 600]), inr, "vi-india",
           &["93", "94", "95", "96"], false),
        op(1700, "Reliance Jio India Data", "IN", Data,
           plans(&[(250, "1.5GB/day 28 days"), (720, "2GB/day 84 days")]),
           inr, "jio-india-data", &[], false),
        // Nigeria
        op(341, "MTN Nigeria", "NG", Airtime, range(20, 10000), ngn, "mtn-nigeria",
           &["703", "706", "803", "806", "810", "813", "814", "816", "903", "906"], true),
        op(342, "Airtel Nigeria", "NG", Airtime, range(20, 10000), ngn, "airtel-nigeria",
           &["701", "708", "802", "808", "812", "901", "902", "907"], true),
        op(343, "Glo Nigeria", "NG", Airtime, fixed(&[100, 200, 500, 1000]), ngn, "glo-nigeria",
           &["705", "805", "807", "811", "815", "905"], false),
        op(344, "9mobile Nigeria", "NG", Airtime, fixed(&[100, 200, 500]), ngn,
           "9mobile-nigeria", &["809", "817", "818", "908", "909"], false),
        op(1341, "MTN Nigeria Data", "NG", Data,
           plans(&[(70, "1GB 7 days"), (200, "2GB 7 days"), (650, "10GB 30 days")]),
           ngn, "mtn-nigeria-data", &[], false),
        // Mexico
        op(520, "Telcel Mexico", "MX", Airtime, fixed(&[300, 600, 1200, 3000]), mxn,
           "telcel-mexico", &["33", "55", "81"], true),
        op(521, "Movistar Mexico", "MX", Airtime, range(100, 5000), mxn, "movistar-mexico",
           &["22", "44"], false),
        op(522, "AT&T Mexico", "MX", Airtime, fixed(&[300, 600, 1200]), mxn, "att-mexico",
           &["56", "66"], false),
        op(1520, "Telcel Mexico Data", "MX", Bundle,
           plans(&[(300, "Amigo Sin Limite 50: 2GB 7 days"), (600, "Amigo 100: 4GB 15 days")]),
           mxn, "telcel-mexico-data", &[], false),
        // United States
        op(890, "T-Mobile USA", "US", Airtime, fixed(&[1000, 2500, 4000, 5000]), one,
           "tmobile-usa", &["201", "206", "347"], false),
        op(891, "Verizon USA", "US", Airtime, range(1500, 10000), one, "verizon-usa",
           &["212", "310", "415"], false),
        op(892, "AT&T USA", "US", Airtime, fixed(&[1500, 3000, 5000]), one, "att-usa",
           &["213", "305", "404"], false),
        // United Kingdom
        op(535, "EE England", "GB", Airtime, fixed(&[633, 1266, 1899]), gbp, "ee-uk",
           &["74", "75"], false),
        op(536, "Vodafone UK", "GB", Airtime, range(633, 6330), gbp, "vodafone-uk", &["77"],
           false),
        op(537, "O2 UK", "GB", Airtime, fixed(&[1266, 1899, 3165]), gbp, "o2-uk",
           &["78", "79"], false),
        op(538, "Three UK", "GB", Airtime, fixed(&[633, 1266]), gbp, "three-uk", &["73"],
           false),
        // Brazil
        op(600, "Vivo Brazil", "BR", Airtime, range(300, 6000), brl, "vivo-brazil",
           &["11", "12", "13"], true),
        op(604, "Claro Brazil", "BR", Airtime, fixed(&[300, 600, 1000, 2000]), brl,
           "claro-brazil", &["21", "22", "24"], true),
        op(605, "TIM Brazil", "BR", Airtime, fixed(&[300, 600, 1000]), brl, "tim-brazil",
           &["31", "41", "51"], false),
        op(1604, "Claro Brazil Data", "BR", Data,
           plans(&[(400, "Claro Prezao 4GB 15 days"), (800, "Claro Prezao 10GB 30 days")]),
           brl, "claro-brazil-data", &[], false),
        // Egypt
        op(900, "Vodafone Egypt", "EG", Airtime, fixed(&[100, 200, 500, 1000]), egp,
           "vodafone-egypt", &["10"], true),
        op(901, "Etisalat Egypt", "EG", Airtime, range(50, 3000), egp, "etisalat-egypt",
           &["11"], false),
        op(902, "Orange Egypt", "EG", Airtime, fixed(&[100, 300, 600]), egp, "orange-egypt",
           &["12"], false),
        op(903, "WE Egypt", "EG", Airtime, fixed(&[100, 300]), egp, "we-egypt", &["15"], false),
        op(1900, "Vodafone Egypt Data", "EG", Data,
           plans(&[(150, "Flex 30: 2GB 30 days"), (400, "Flex 100: 8GB 30 days")]),
           egp, "vodafone-egypt-data", &[], false),
    ];
    let operators = specs
        .into_iter()
        .map(|spec| {
            let currency = countries
                .iter()
                .find(|c| c.iso == spec.country)
                .map(|c| (c.currency, c.currency_symbol))
                .unwrap_or(("USD", "$"));
            Operator {
                id: spec.id,
                name: spec.name,
                country: spec.country,
                data: matches!(spec.kind, Kind::Data),
                bundle: matches!(spec.kind, Kind::Bundle),
                denomination: spec.denomination,
                destination_currency: currency.0,
                destination_symbol: currency.1,
                fx_rate: spec.fx_rate,
                commission: Decimal::new(if spec.local { 35 } else { 25 }, 1),
                slug: spec.slug,
                prefixes: spec.prefixes,
                supports_local_amounts: spec.local,
            }
        })
        .collect();
    Catalog {
        countries,
        operators,
    }
}

fn country(
    iso: &'static str,
    name: &'static str,
    currency: &'static str,
    currency_name: &'static str,
    currency_symbol: &'static str,
    calling_code: &'static str,
) -> Country {
    Country {
        iso,
        name,
        currency,
        currency_name,
        currency_symbol,
        calling_code,
    }
}

#[allow(clippy::too_many_arguments)]
fn op(
    id: u64,
    name: &'static str,
    country: &'static str,
    kind: Kind,
    denomination: Denomination,
    fx_rate: Decimal,
    slug: &'static str,
    prefixes: &'static [&'static str],
    local: bool,
) -> OperatorSpec {
    OperatorSpec {
        id,
        name,
        country,
        kind,
        denomination,
        fx_rate,
        slug,
        prefixes,
        local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_has_airtime_and_ids_are_unique() {
        let catalog = demo_catalog();
        assert!(catalog.countries.len() >= 12);
        for c in &catalog.countries {
            assert!(
                catalog.operators_of(c.iso).any(Operator::is_airtime),
                "{}",
                c.iso
            );
            assert!(Currency::parse(c.currency).is_ok(), "{}", c.currency);
        }
        let mut ids: Vec<u64> = catalog.operators.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), catalog.operators.len());
        assert!(
            catalog
                .operators
                .iter()
                .any(|o| matches!(o.denomination, Denomination::Range { .. }))
        );
        assert!(catalog.operators.iter().any(|o| o.data));
    }

    #[test]
    fn detects_by_longest_prefix() {
        let catalog = demo_catalog();
        assert_eq!(
            catalog.detect("PH", "9171234560").map(|o| o.name),
            Some("Globe Philippines")
        );
        assert_eq!(
            catalog.detect("PH", "9191234567").map(|o| o.name),
            Some("Smart Philippines")
        );
        assert_eq!(
            catalog.detect("MY", "1481234567").map(|o| o.name),
            Some("Celcom Malaysia")
        );
        assert!(catalog.detect("PH", "1111111111").is_none());
    }
}
