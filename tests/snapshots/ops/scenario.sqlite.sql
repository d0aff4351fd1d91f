-- step 1: create_table
CREATE TABLE "parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP) );
-- step 2: create_table
CREATE TABLE "child" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "parent_id" integer NOT NULL, "note" text NULL, "amount" numeric(10, 2) NULL DEFAULT 0, FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE, CHECK (amount >= 0) );
-- step 3: create_table
CREATE TABLE "pair" ( "a" smallint NOT NULL, "b" char(36) NOT NULL, "doc" text NULL, "raw" blob NULL, "f" real NULL, "g" double NULL, "d" date NULL, "t" time NULL, "ts" timestamp NULL, "ok" boolean NOT NULL DEFAULT FALSE, PRIMARY KEY ("a", "b"), CONSTRAINT "uq_pair_d_t" UNIQUE ("d", "t"), CONSTRAINT "ck_pair_f" CHECK (f > 0) );
-- step 4: create_index
CREATE INDEX "ix_child_amount" ON "child" ("amount", "id");
-- step 5: add_column
ALTER TABLE "parent" ADD COLUMN "email" varchar(255) NULL;
-- step 6: add_column
ALTER TABLE "parent" ADD COLUMN "score" integer NOT NULL DEFAULT 0;
-- step 7: alter_column
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "email" varchar(255) NULL, "score" integer NOT NULL DEFAULT 0 );
INSERT INTO "_retort_new_parent" ("id", "name", "code", "created", "email", "score") SELECT "id", "name", "code", "created", "email", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- step 8: alter_column
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "email" varchar(255) NULL, "score" integer NULL DEFAULT 5 );
INSERT INTO "_retort_new_parent" ("id", "name", "code", "created", "email", "score") SELECT "id", "name", "code", "created", "email", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- step 9: alter_column
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "email" varchar(255) NULL, "score" integer NULL );
INSERT INTO "_retort_new_parent" ("id", "name", "code", "created", "email", "score") SELECT "id", "name", "code", "created", "email", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- step 10: alter_column
ALTER TABLE "parent" RENAME COLUMN "email" TO "mail";
-- step 11: add_unique
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "mail" varchar(255) NULL, "score" integer NULL, CONSTRAINT "uq_parent_mail" UNIQUE ("mail") );
INSERT INTO "_retort_new_parent" ("id", "name", "code", "created", "mail", "score") SELECT "id", "name", "code", "created", "mail", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- step 12: add_check
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "mail" varchar(255) NULL, "score" integer NULL, CONSTRAINT "uq_parent_mail" UNIQUE ("mail"), CONSTRAINT "ck_parent_score" CHECK (score >= 0) );
INSERT INTO "_retort_new_parent" ("id", "name", "code", "created", "mail", "score") SELECT "id", "name", "code", "created", "mail", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- step 13: drop_constraint
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "mail" varchar(255) NULL, "score" integer NULL, CONSTRAINT "uq_parent_mail" UNIQUE ("mail") );
INSERT INTO "_retort_new_parent" ("id", "name", "code", "created", "mail", "score") SELECT "id", "name", "code", "created", "mail", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- step 14: drop_constraint
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL DEFAULT 'it''s', "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "mail" varchar(255) NULL, "score" integer NULL );
INSERT INTO "_retort_new_parent" ("id", "name", "code", "created", "mail", "score") SELECT "id", "name", "code", "created", "mail", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- step 15: create_table
CREATE TABLE "other" ( "id" integer NOT NULL PRIMARY KEY );
-- step 16: add_column
ALTER TABLE "child" ADD COLUMN "other_id" integer NULL;
-- step 17: add_foreign_key
CREATE TABLE "_retort_new_child" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "parent_id" integer NOT NULL, "note" text NULL, "amount" numeric(10, 2) NULL DEFAULT 0, "other_id" integer NULL, FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE, FOREIGN KEY ("other_id") REFERENCES "other" ("id") ON DELETE RESTRICT ON UPDATE NO ACTION, CHECK (amount >= 0) );
INSERT INTO "_retort_new_child" ("id", "parent_id", "note", "amount", "other_id") SELECT "id", "parent_id", "note", "amount", "other_id" FROM "child";
DROP TABLE "child";
ALTER TABLE "_retort_new_child" RENAME TO "child";
CREATE INDEX "ix_child_amount" ON "child" ("amount", "id");
PRAGMA foreign_key_check;
-- step 18: drop_foreign_key
CREATE TABLE "_retort_new_child" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "parent_id" integer NOT NULL, "note" text NULL, "amount" numeric(10, 2) NULL DEFAULT 0, "other_id" integer NULL, FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE, CHECK (amount >= 0) );
INSERT INTO "_retort_new_child" ("id", "parent_id", "note", "amount", "other_id") SELECT "id", "parent_id", "note", "amount", "other_id" FROM "child";
DROP TABLE "child";
ALTER TABLE "_retort_new_child" RENAME TO "child";
CREATE INDEX "ix_child_amount" ON "child" ("amount", "id");
PRAGMA foreign_key_check;
-- step 19: drop_column
ALTER TABLE "child" DROP COLUMN "other_id";
-- step 20: rename_table
ALTER TABLE "other" RENAME TO "other2";
-- step 21: drop_table
DROP TABLE "other2";
-- step 22: drop_index
DROP INDEX "ix_child_amount";
-- step 23: create_index
CREATE UNIQUE INDEX "ix_parent_name" ON "parent" ("name");
-- step 24: drop_column
ALTER TABLE "parent" DROP COLUMN "mail";
-- step 25: drop_column
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NULL );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score") SELECT "id", "code", "created", "score" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 25: add_column
ALTER TABLE "parent" ADD COLUMN "name" varchar(50) NOT NULL DEFAULT 'it''s';
-- inverse of step 25: create_index
CREATE UNIQUE INDEX "ix_parent_name" ON "parent" ("name");
-- inverse of step 24: add_column
ALTER TABLE "parent" ADD COLUMN "mail" varchar(255) NULL;
-- inverse of step 23: drop_index
DROP INDEX "ix_parent_name";
-- inverse of step 22: create_index
CREATE INDEX "ix_child_amount" ON "child" ("amount", "id");
-- inverse of step 21: create_table
CREATE TABLE "other2" ( "id" integer NOT NULL PRIMARY KEY );
-- inverse of step 20: rename_table
ALTER TABLE "other2" RENAME TO "other";
-- inverse of step 19: add_column
ALTER TABLE "child" ADD COLUMN "other_id" integer NULL;
-- inverse of step 18: add_foreign_key
CREATE TABLE "_retort_new_child" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "parent_id" integer NOT NULL, "note" text NULL, "amount" numeric(10, 2) NULL DEFAULT 0, "other_id" integer NULL, FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE, FOREIGN KEY ("other_id") REFERENCES "other" ("id") ON DELETE RESTRICT ON UPDATE NO ACTION, CHECK (amount >= 0) );
INSERT INTO "_retort_new_child" ("id", "parent_id", "note", "amount", "other_id") SELECT "id", "parent_id", "note", "amount", "other_id" FROM "child";
DROP TABLE "child";
ALTER TABLE "_retort_new_child" RENAME TO "child";
CREATE INDEX "ix_child_amount" ON "child" ("amount", "id");
PRAGMA foreign_key_check;
-- inverse of step 17: drop_foreign_key
CREATE TABLE "_retort_new_child" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "parent_id" integer NOT NULL, "note" text NULL, "amount" numeric(10, 2) NULL DEFAULT 0, "other_id" integer NULL, FOREIGN KEY ("parent_id") REFERENCES "parent" ("id") ON DELETE CASCADE, CHECK (amount >= 0) );
INSERT INTO "_retort_new_child" ("id", "parent_id", "note", "amount", "other_id") SELECT "id", "parent_id", "note", "amount", "other_id" FROM "child";
DROP TABLE "child";
ALTER TABLE "_retort_new_child" RENAME TO "child";
CREATE INDEX "ix_child_amount" ON "child" ("amount", "id");
PRAGMA foreign_key_check;
-- inverse of step 16: drop_column
ALTER TABLE "child" DROP COLUMN "other_id";
-- inverse of step 15: drop_table
DROP TABLE "other";
-- inverse of step 14: add_unique
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NULL, "name" varchar(50) NOT NULL DEFAULT 'it''s', "mail" varchar(255) NULL, CONSTRAINT "uq_parent_mail" UNIQUE ("mail") );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score", "name", "mail") SELECT "id", "code", "created", "score", "name", "mail" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 13: add_check
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NULL, "name" varchar(50) NOT NULL DEFAULT 'it''s', "mail" varchar(255) NULL, CONSTRAINT "uq_parent_mail" UNIQUE ("mail"), CONSTRAINT "ck_parent_score" CHECK (score >= 0) );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score", "name", "mail") SELECT "id", "code", "created", "score", "name", "mail" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 12: drop_constraint
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NULL, "name" varchar(50) NOT NULL DEFAULT 'it''s', "mail" varchar(255) NULL, CONSTRAINT "uq_parent_mail" UNIQUE ("mail") );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score", "name", "mail") SELECT "id", "code", "created", "score", "name", "mail" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 11: drop_constraint
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NULL, "name" varchar(50) NOT NULL DEFAULT 'it''s', "mail" varchar(255) NULL );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score", "name", "mail") SELECT "id", "code", "created", "score", "name", "mail" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 10: alter_column
ALTER TABLE "parent" RENAME COLUMN "mail" TO "email";
-- inverse of step 9: alter_column
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NULL DEFAULT 5, "name" varchar(50) NOT NULL DEFAULT 'it''s', "email" varchar(255) NULL );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score", "name", "email") SELECT "id", "code", "created", "score", "name", "email" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 8: alter_column
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NOT NULL DEFAULT 0, "name" varchar(50) NOT NULL DEFAULT 'it''s', "email" varchar(255) NULL );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score", "name", "email") SELECT "id", "code", "created", "score", "name", "email" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 7: alter_column
CREATE TABLE "_retort_new_parent" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "code" varchar(10) NULL UNIQUE, "created" timestamptz NULL DEFAULT (CURRENT_TIMESTAMP), "score" integer NOT NULL DEFAULT 0, "name" varchar(50) NOT NULL DEFAULT 'it''s', "email" varchar(255) NULL );
INSERT INTO "_retort_new_parent" ("id", "code", "created", "score", "name", "email") SELECT "id", "code", "created", "score", "name", "email" FROM "parent";
DROP TABLE "parent";
ALTER TABLE "_retort_new_parent" RENAME TO "parent";
PRAGMA foreign_key_check;
-- inverse of step 6: drop_column
ALTER TABLE "parent" DROP COLUMN "score";
-- inverse of step 5: drop_column
ALTER TABLE "parent" DROP COLUMN "email";
-- inverse of step 4: drop_index
DROP INDEX "ix_child_amount";
-- inverse of step 3: drop_table
DROP TABLE "pair";
-- inverse of step 2: drop_table
DROP TABLE "child";
-- inverse of step 1: drop_table
DROP TABLE "parent";
