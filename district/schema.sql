-- The district's store (PostgreSQL). Everything a school sent is partitioned by school
-- (hash of school_id, 16 partitions): a region of thousands of schools stays on one server,
-- and the same school_id column is the distribution column on Citus (district/README.md).

CREATE TABLE IF NOT EXISTS district_setting (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE IF NOT EXISTS school (
    id               serial PRIMARY KEY,
    code             text NOT NULL UNIQUE,
    name             text NOT NULL,
    public_key       text NOT NULL,
    registered_at    timestamptz NOT NULL DEFAULT now(),
    -- the mark: the last chunk applied
    epoch            integer NOT NULL DEFAULT 0,
    seq              integer NOT NULL DEFAULT 0,
    last_id          bigint NOT NULL DEFAULT 0,
    head             text NOT NULL DEFAULT '',
    proof            text NOT NULL DEFAULT '',
    in_snapshot      boolean NOT NULL DEFAULT false,
    last_contact     timestamptz,
    last_chunk_at    timestamptz,
    last_change_at   timestamptz,      -- when the newest change received was made at the school
    changes_received bigint NOT NULL DEFAULT 0,   -- records of snapshots and changes
    chunks_received  bigint NOT NULL DEFAULT 0,
    last_error       text,
    last_error_at    timestamptz
);

-- Every chunk applied: a replay is recognised by (school, epoch, seq) and its digest.
CREATE TABLE IF NOT EXISTS chunk_receipt (
    school_id   integer NOT NULL,
    epoch       integer NOT NULL,
    seq         integer NOT NULL,
    digest      text NOT NULL,
    proof       text NOT NULL,
    kind        text NOT NULL,
    entries     integer NOT NULL,
    bytes       integer NOT NULL,
    via         text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (school_id, epoch, seq)
) PARTITION BY HASH (school_id);

-- The school's data as it stands: one row per ledger key, its state as the profile lets it leave.
CREATE TABLE IF NOT EXISTS record (
    school_id integer NOT NULL,
    key       text NOT NULL,
    entity    text NOT NULL,
    state     jsonb NOT NULL,
    epoch     integer NOT NULL,
    entry_id  bigint NOT NULL,
    PRIMARY KEY (school_id, key)
) PARTITION BY HASH (school_id);

-- The changes as they came (a snapshot's records are not changes and are not kept here).
CREATE TABLE IF NOT EXISTS change (
    school_id  integer NOT NULL,
    epoch      integer NOT NULL,
    seq        integer NOT NULL,
    n          integer NOT NULL,
    entry_id   bigint NOT NULL,
    at         timestamptz NOT NULL,
    account_id integer,
    entity     text NOT NULL,
    key        text NOT NULL,
    state      jsonb,
    reason     text NOT NULL DEFAULT '',
    PRIMARY KEY (school_id, epoch, seq, n)
) PARTITION BY HASH (school_id);

-- The district's view as it was when a school started a new epoch (after a restore), kept
-- until the new epoch's snapshot is complete and compared with it.
CREATE TABLE IF NOT EXISTS epoch_before (
    school_id integer NOT NULL,
    key       text NOT NULL,
    entity    text NOT NULL,
    state     jsonb NOT NULL,
    PRIMARY KEY (school_id, key)
) PARTITION BY HASH (school_id);

-- What a restored school no longer has: the district's state of each such key, and what
-- the school has now (NULL: nothing), to be handed back for review.
CREATE TABLE IF NOT EXISTS lost_change (
    id             bigserial,
    school_id      integer NOT NULL,
    epoch          integer NOT NULL,
    key            text NOT NULL,
    entity         text NOT NULL,
    district_state jsonb,
    school_state   jsonb,
    last_at        timestamptz,
    last_account   integer,
    last_reason    text NOT NULL DEFAULT '',
    detected_at    timestamptz NOT NULL DEFAULT now(),
    handed_back_at timestamptz,
    PRIMARY KEY (school_id, id)
) PARTITION BY HASH (school_id);

CREATE TABLE IF NOT EXISTS ingest_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    school   text NOT NULL,
    epoch    integer,
    seq      integer,
    via      text NOT NULL,
    outcome  text NOT NULL,
    message  text NOT NULL
);

CREATE TABLE IF NOT EXISTS district_account (
    id            serial PRIMARY KEY,
    login         text NOT NULL UNIQUE,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'inspector')),
    password_hash text NOT NULL,
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS district_session (
    token_hash   text PRIMARY KEY,
    account_id   integer NOT NULL REFERENCES district_account(id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- A release bundle the district offers its schools (`zhurnal district offer-update`): one at a
-- time (a new offer replaces the old), the file kept here in 1 MiB pieces so that neither the
-- offer nor a school's download holds the whole bundle in memory. There is no migration
-- mechanism for this schema: every table is CREATE … IF NOT EXISTS, and `district init` (or the
-- first offer) adds these to a district set up before them.
CREATE TABLE IF NOT EXISTS update_offer (
    id             serial PRIMARY KEY,
    version        text NOT NULL,
    schema_version integer NOT NULL,
    sha256         text NOT NULL,
    size           bigint NOT NULL,
    key_id         text NOT NULL,
    file_name      text NOT NULL,
    offered_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS update_offer_piece (
    offer_id integer NOT NULL REFERENCES update_offer(id) ON DELETE CASCADE,
    n        integer NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (offer_id, n)
);
