-- The gym application's own schema (SQLite). It predates member-anonymization
-- and differs from the library's reference schema on purpose:
--
-- * Polish table and column names, and one `people` table for members AND
--   employees (`rola`), with employees' permissions in a join table.
-- * Money in minor units: integer grosze (`*_gr`).
-- * Days as 'YYYY-MM-DD' text; instants as UTC epoch seconds (`*_utc`) plus
--   the local offset in minutes (`*_tz`).
-- * Installments live in `payments_plan`; codes are the application's own
--   (note types 'TRENING_ZDROWIE', permissions 'ANONIMIZACJA', ...).
-- * What member-anonymization writes: reminders (`przypomnienia`), the audit
--   trail (`audyt`), the register of GDPR erasure requests (`wnioski_rodo`,
--   "RODO" being the GDPR's Polish name) and the outbox of events and notices
--   the application delivers (`do_wyslania`).

CREATE TABLE siec (
    id    TEXT PRIMARY KEY,
    nazwa TEXT NOT NULL
);

CREATE TABLE kluby (
    id             TEXT PRIMARY KEY,
    nazwa          TEXT NOT NULL,
    strefa_czasowa TEXT NOT NULL,
    windykacja     INTEGER NOT NULL CHECK (windykacja IN (0, 1)),
    retencja_mies  INTEGER CHECK (retencja_mies >= 1)  -- NULL: the retention job never runs
);

CREATE TABLE people (
    id                     TEXT PRIMARY KEY,
    rola                   TEXT NOT NULL CHECK (rola IN ('klubowicz', 'pracownik')),
    imie                   TEXT NOT NULL,
    nazwisko               TEXT NOT NULL,
    email                  TEXT,
    telefon                TEXT,
    data_urodzenia         TEXT,
    pesel                  TEXT,
    ulica                  TEXT,
    kod_pocztowy           TEXT,
    miasto                 TEXT,
    kraj                   TEXT,
    zdjecie                BLOB,
    zdjecie_mime           TEXT,
    klub_id                TEXT REFERENCES kluby (id),  -- a member's home club
    zarejestrowano         TEXT,
    ogranicz_przetwarzanie INTEGER NOT NULL DEFAULT 0 CHECK (ogranicz_przetwarzanie IN (0, 1)),
    zanonimizowano_utc     INTEGER,
    zanonimizowano_tz      INTEGER,
    CHECK (rola = 'pracownik' OR (klub_id IS NOT NULL AND zarejestrowano IS NOT NULL)),
    CHECK ((zdjecie IS NULL) = (zdjecie_mime IS NULL))
);

CREATE TABLE uprawnienia (
    osoba_id    TEXT NOT NULL REFERENCES people (id),
    uprawnienie TEXT NOT NULL,  -- 'ANONIMIZACJA', 'EKSPORT_DANYCH', 'SPRZEDAZ', 'GRAFIK', ...
    PRIMARY KEY (osoba_id, uprawnienie)
);

CREATE TABLE umowy (
    id            TEXT PRIMARY KEY,
    osoba_id      TEXT NOT NULL REFERENCES people (id),
    klub_id       TEXT NOT NULL REFERENCES kluby (id),
    nazwa         TEXT NOT NULL,
    od_dnia       TEXT NOT NULL,
    do_dnia       TEXT,  -- NULL: open-ended
    wypowiedziano TEXT   -- the day it was terminated early, if it was
);
CREATE INDEX umowy_osoba ON umowy (osoba_id);

CREATE TABLE portfele (
    osoba_id TEXT NOT NULL REFERENCES people (id),
    waluta   TEXT NOT NULL,
    saldo_gr INTEGER NOT NULL,
    PRIMARY KEY (osoba_id, waluta)
);

CREATE TABLE windykacja (
    id        TEXT PRIMARY KEY,
    osoba_id  TEXT NOT NULL REFERENCES people (id),
    klub_id   TEXT NOT NULL REFERENCES kluby (id),
    otwarto   TEXT NOT NULL,
    zamknieto TEXT
);
CREATE INDEX windykacja_osoba ON windykacja (osoba_id);

CREATE TABLE payments_plan (
    id        TEXT PRIMARY KEY,
    osoba_id  TEXT NOT NULL REFERENCES people (id),
    klub_id   TEXT NOT NULL REFERENCES kluby (id),
    umowa_id  TEXT REFERENCES umowy (id),
    termin    TEXT NOT NULL,
    kwota_gr  INTEGER NOT NULL CHECK (kwota_gr >= 0),
    waluta    TEXT NOT NULL,
    zaplacono TEXT
);
CREATE INDEX payments_plan_osoba ON payments_plan (osoba_id);

CREATE TABLE zakupy (
    id        TEXT PRIMARY KEY,
    osoba_id  TEXT NOT NULL REFERENCES people (id),
    klub_id   TEXT NOT NULL REFERENCES kluby (id),
    kiedy_utc INTEGER NOT NULL,
    kiedy_tz  INTEGER NOT NULL,
    opis      TEXT NOT NULL,
    kwota_gr  INTEGER NOT NULL CHECK (kwota_gr >= 0),
    waluta    TEXT NOT NULL,
    zaplacone INTEGER NOT NULL CHECK (zaplacone IN (0, 1))
);
CREATE INDEX zakupy_osoba ON zakupy (osoba_id);

CREATE TABLE faktury (
    id            TEXT PRIMARY KEY,
    numer         TEXT NOT NULL UNIQUE,
    osoba_id      TEXT NOT NULL REFERENCES people (id),
    klub_id       TEXT NOT NULL REFERENCES kluby (id),
    wystawiono    TEXT NOT NULL,
    nabywca       TEXT NOT NULL,  -- the buyer as printed: never changes
    nabywca_adres TEXT NOT NULL,
    nabywca_nip   TEXT,
    suma_gr       INTEGER NOT NULL,
    waluta        TEXT NOT NULL
);
CREATE INDEX faktury_osoba ON faktury (osoba_id);

CREATE TABLE faktury_pozycje (
    faktura_id TEXT NOT NULL REFERENCES faktury (id),
    lp         INTEGER NOT NULL,
    opis       TEXT NOT NULL,
    ilosc      TEXT NOT NULL,  -- a decimal, as text
    cena_gr    INTEGER NOT NULL,
    stawka_vat TEXT NOT NULL,
    PRIMARY KEY (faktura_id, lp)
);

CREATE TABLE paragony (
    id         TEXT PRIMARY KEY,
    numer      TEXT NOT NULL UNIQUE,
    osoba_id   TEXT NOT NULL REFERENCES people (id),
    klub_id    TEXT NOT NULL REFERENCES kluby (id),
    kiedy_utc  INTEGER NOT NULL,
    kiedy_tz   INTEGER NOT NULL,
    kontrahent TEXT NOT NULL,  -- as printed: never changes
    suma_gr    INTEGER NOT NULL,
    waluta     TEXT NOT NULL
);
CREATE INDEX paragony_osoba ON paragony (osoba_id);

CREATE TABLE wejscia (
    id          TEXT PRIMARY KEY,
    osoba_id    TEXT NOT NULL REFERENCES people (id),
    klub_id     TEXT NOT NULL REFERENCES kluby (id),
    wejscie_utc INTEGER NOT NULL,
    wejscie_tz  INTEGER NOT NULL,
    wyjscie_utc INTEGER,
    wyjscie_tz  INTEGER
);
CREATE INDEX wejscia_osoba ON wejscia (osoba_id);

CREATE TABLE rezerwacje (
    id        TEXT PRIMARY KEY,
    osoba_id  TEXT NOT NULL REFERENCES people (id),
    klub_id   TEXT NOT NULL REFERENCES kluby (id),
    zajecia   TEXT NOT NULL,
    start_utc INTEGER NOT NULL,
    start_tz  INTEGER NOT NULL,
    obecnosc  INTEGER NOT NULL CHECK (obecnosc IN (0, 1))
);
CREATE INDEX rezerwacje_osoba ON rezerwacje (osoba_id);

CREATE TABLE pomiary (
    id       TEXT PRIMARY KEY,
    osoba_id TEXT NOT NULL REFERENCES people (id),
    dzien    TEXT NOT NULL,
    rodzaj   TEXT NOT NULL,
    wartosc  TEXT NOT NULL  -- a decimal, as text
);
CREATE INDEX pomiary_osoba ON pomiary (osoba_id);

CREATE TABLE cwiczenia (
    id          TEXT PRIMARY KEY,
    osoba_id    TEXT NOT NULL REFERENCES people (id),
    dzien       TEXT NOT NULL,
    nazwa       TEXT NOT NULL,
    serie       INTEGER,
    powtorzenia INTEGER,
    ciezar_kg   TEXT
);
CREATE INDEX cwiczenia_osoba ON cwiczenia (osoba_id);

CREATE TABLE notatki (
    id        TEXT PRIMARY KEY,
    osoba_id  TEXT NOT NULL REFERENCES people (id),
    typ       TEXT NOT NULL CHECK (typ IN ('TRENING_ZDROWIE', 'OGOLNA')),
    kiedy_utc INTEGER NOT NULL,
    kiedy_tz  INTEGER NOT NULL,
    tresc     TEXT NOT NULL
);
CREATE INDEX notatki_osoba ON notatki (osoba_id);

CREATE TABLE log_profilu (
    id        TEXT PRIMARY KEY,
    osoba_id  TEXT NOT NULL REFERENCES people (id),
    kiedy_utc INTEGER NOT NULL,
    kiedy_tz  INTEGER NOT NULL,
    tresc     TEXT NOT NULL
);
CREATE INDEX log_profilu_osoba ON log_profilu (osoba_id);

CREATE TABLE dokumenty (
    id          TEXT PRIMARY KEY,
    osoba_id    TEXT NOT NULL REFERENCES people (id),
    nazwa_pliku TEXT NOT NULL,
    kiedy_utc   INTEGER NOT NULL,
    kiedy_tz    INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    dane        BLOB NOT NULL
);
CREATE INDEX dokumenty_osoba ON dokumenty (osoba_id);

CREATE TABLE przypomnienia (
    id         TEXT PRIMARY KEY,
    osoba_id   TEXT NOT NULL REFERENCES people (id),
    klub_id    TEXT NOT NULL REFERENCES kluby (id),
    rodzaj     TEXT NOT NULL,
    kiedy_utc  INTEGER NOT NULL,
    kiedy_tz   INTEGER NOT NULL,
    kwota_gr   INTEGER,
    waluta     TEXT,
    wniosek_id TEXT REFERENCES wnioski_rodo (id),  -- the erasure request it is about
    czynnosc   TEXT  -- what staff must do for that request (a blocker code)
);

CREATE TABLE audyt (
    id                 TEXT PRIMARY KEY,
    osoba_id           TEXT NOT NULL REFERENCES people (id),
    pracownik_id       TEXT REFERENCES people (id),  -- NULL: the retention job or a request run
    kiedy_utc          INTEGER NOT NULL,
    kiedy_tz           INTEGER NOT NULL,
    tryb               TEXT CHECK (tryb IN ('RECZNIE', 'RETENCJA', 'WNIOSEK')),  -- NULL: an export
    akcja              TEXT NOT NULL CHECK (akcja IN ('ANONIMIZACJA', 'EKSPORT')),
    usuniete_dane      INTEGER DEFAULT 0,  -- the counts are NULL for an export
    usuniete_zdjecie   INTEGER DEFAULT 0,
    usuniete_log       INTEGER DEFAULT 0,
    usuniete_dokumenty INTEGER DEFAULT 0,
    usuniete_pomiary   INTEGER DEFAULT 0,
    usuniete_cwiczenia INTEGER DEFAULT 0,
    usuniete_notatki   INTEGER DEFAULT 0,
    stan_na            TEXT,  -- the day the rules were evaluated on (anonymizations)
    CHECK (akcja = 'EKSPORT' OR (tryb IS NOT NULL AND usuniete_dane IS NOT NULL))
);
CREATE INDEX audyt_akcja ON audyt (akcja, id);

CREATE TABLE wnioski_rodo (
    id                       TEXT PRIMARY KEY,
    osoba_id                 TEXT NOT NULL REFERENCES people (id),
    klub_id                  TEXT NOT NULL REFERENCES kluby (id),  -- the club that received it
    wplynal_utc              INTEGER NOT NULL,
    wplynal_tz               INTEGER NOT NULL,
    wplynal_dnia             TEXT NOT NULL,  -- the club's local date of receipt
    kanal                    TEXT NOT NULL
        CHECK (kanal IN ('RECEPCJA', 'EMAIL', 'LIST', 'APLIKACJA', 'INNY')),
    przyjal_id               TEXT REFERENCES people (id),  -- NULL: the self-service app
    status                   TEXT NOT NULL
        CHECK (status IN ('OTWARTY', 'ZREALIZOWANY', 'WYCOFANY', 'ODRZUCONY')),
    termin                   TEXT NOT NULL,  -- one month after wplynal_dnia
    przedluzono_do           TEXT,  -- the one extension, if any
    przedluzono_powod        TEXT CHECK (przedluzono_powod IN ('ZLOZONOSC', 'LICZBA_WNIOSKOW')),
    przedluzono_utc          INTEGER,
    przedluzono_tz           INTEGER,
    przedluzyl_id            TEXT REFERENCES people (id),
    zamknieto_utc            INTEGER,
    zamknieto_tz             INTEGER,
    zamknal_id               TEXT REFERENCES people (id),  -- NULL: a processing run
    powod_odrzucenia         TEXT
        CHECK (powod_odrzucenia IN ('TOZSAMOSC', 'BEZZASADNY', 'NADMIERNY')),
    audyt_id                 TEXT REFERENCES audyt (id),  -- the anonymization that completed it
    przypomniano_termin      INTEGER NOT NULL DEFAULT 0 CHECK (przypomniano_termin IN (0, 1)),
    przypomniano_po_terminie INTEGER NOT NULL DEFAULT 0
        CHECK (przypomniano_po_terminie IN (0, 1)),
    odmowa_utc               INTEGER,  -- when the 'refused' notice was written
    odmowa_tz                INTEGER,
    CHECK ((przedluzono_do IS NULL) = (przedluzono_powod IS NULL)),
    CHECK ((status = 'OTWARTY') = (zamknieto_utc IS NULL))
);
CREATE UNIQUE INDEX wnioski_rodo_jeden_otwarty ON wnioski_rodo (osoba_id) WHERE status = 'OTWARTY';
CREATE INDEX wnioski_rodo_status ON wnioski_rodo (status, id);

CREATE TABLE do_wyslania (
    id              TEXT PRIMARY KEY,
    rodzaj          TEXT NOT NULL CHECK (rodzaj IN ('ZANONIMIZOWANO', 'ZAWIADOMIENIE')),
    osoba_id        TEXT NOT NULL REFERENCES people (id),
    utworzono_utc   INTEGER NOT NULL,
    utworzono_tz    INTEGER NOT NULL,
    wniosek_id      TEXT REFERENCES wnioski_rodo (id),
    tryb            TEXT CHECK (tryb IN ('RECZNIE', 'RETENCJA', 'WNIOSEK')),  -- events only
    zawiadomienie   TEXT CHECK (  -- notices only: what it tells the member
        zawiadomienie IN ('PRZYJETO', 'PRZEDLUZONO', 'ODMOWA', 'ODRZUCONO', 'ZREALIZOWANO')
    ),
    jezyk           TEXT,
    temat           TEXT,
    tresc           TEXT,
    dostarczono_utc INTEGER,  -- NULL: still to deliver
    dostarczono_tz  INTEGER,
    CHECK ((rodzaj = 'ZANONIMIZOWANO') = (tryb IS NOT NULL)),
    CHECK ((rodzaj = 'ZAWIADOMIENIE') = (zawiadomienie IS NOT NULL))
);
CREATE INDEX do_wyslania_oczekujace ON do_wyslania (utworzono_utc, id) WHERE dostarczono_utc IS NULL;
CREATE INDEX do_wyslania_wniosek ON do_wyslania (wniosek_id);
