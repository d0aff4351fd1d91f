-- step 1: create_table
CREATE TABLE `parent` ( `id` int NOT NULL PRIMARY KEY AUTO_INCREMENT, `name` varchar(50) NOT NULL DEFAULT 'it\'s', `code` varchar(10) NULL UNIQUE, `created` timestamp(6) NULL DEFAULT (CURRENT_TIMESTAMP) );
-- step 2: create_table
CREATE TABLE `child` ( `id` bigint NOT NULL PRIMARY KEY AUTO_INCREMENT, `parent_id` int NOT NULL, `note` text NULL, `amount` decimal(10, 2) NULL DEFAULT 0, CONSTRAINT `fk_child_parent` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`) ON DELETE CASCADE, CHECK (amount >= 0) );
-- step 3: create_table
CREATE TABLE `pair` ( `a` smallint NOT NULL, `b` char(36) NOT NULL, `doc` json NULL, `raw` blob NULL, `f` float NULL, `g` double NULL, `d` date NULL, `t` time NULL, `ts` datetime(6) NULL, `ok` bool NOT NULL DEFAULT FALSE, PRIMARY KEY (`a`, `b`), UNIQUE KEY `uq_pair_d_t` (`d`, `t`), CONSTRAINT `ck_pair_f` CHECK (f > 0) );
-- step 4: create_index
CREATE INDEX `ix_child_amount` ON `child` (`amount`, `id`);
-- step 5: add_column
ALTER TABLE `parent` ADD COLUMN `email` varchar(255) NULL;
-- step 6: add_column
ALTER TABLE `parent` ADD COLUMN `score` int NOT NULL DEFAULT 0;
-- step 7: alter_column
ALTER TABLE `parent` MODIFY COLUMN `score` bigint NOT NULL DEFAULT 0;
-- step 8: alter_column
ALTER TABLE `parent` MODIFY COLUMN `score` bigint NULL DEFAULT 5;
-- step 9: alter_column
ALTER TABLE `parent` ALTER COLUMN `score` DROP DEFAULT;
-- step 10: alter_column
ALTER TABLE `parent` RENAME COLUMN `email` TO `mail`;
-- step 11: add_unique
ALTER TABLE `parent` ADD CONSTRAINT `uq_parent_mail` UNIQUE (`mail`);
-- step 12: add_check
ALTER TABLE `parent` ADD CONSTRAINT `ck_parent_score` CHECK (score >= 0);
-- step 13: drop_constraint
ALTER TABLE `parent` DROP CONSTRAINT `ck_parent_score`;
-- step 14: drop_constraint
ALTER TABLE `parent` DROP INDEX `uq_parent_mail`;
-- step 15: create_table
CREATE TABLE `other` ( `id` int NOT NULL PRIMARY KEY );
-- step 16: add_column
ALTER TABLE `child` ADD COLUMN `other_id` int NULL;
-- step 17: add_foreign_key
ALTER TABLE `child` ADD CONSTRAINT `fk_child_other` FOREIGN KEY (`other_id`) REFERENCES `other` (`id`) ON DELETE RESTRICT ON UPDATE NO ACTION;
-- step 18: drop_foreign_key
ALTER TABLE `child` DROP FOREIGN KEY `fk_child_other`;
-- step 19: drop_column
ALTER TABLE `child` DROP COLUMN `other_id`;
-- step 20: rename_table
RENAME TABLE `other` TO `other2`;
-- step 21: drop_table
DROP TABLE `other2`;
-- step 22: drop_index
DROP INDEX `ix_child_amount` ON `child`;
-- step 23: create_index
CREATE UNIQUE INDEX `ix_parent_name` ON `parent` (`name`);
-- step 24: drop_column
ALTER TABLE `parent` DROP COLUMN `mail`;
-- step 25: drop_column
ALTER TABLE `parent` DROP COLUMN `name`;
-- inverse of step 25: add_column
ALTER TABLE `parent` ADD COLUMN `name` varchar(50) NOT NULL DEFAULT 'it\'s';
-- inverse of step 25: create_index
CREATE UNIQUE INDEX `ix_parent_name` ON `parent` (`name`);
-- inverse of step 24: add_column
ALTER TABLE `parent` ADD COLUMN `mail` varchar(255) NULL;
-- inverse of step 23: drop_index
DROP INDEX `ix_parent_name` ON `parent`;
-- inverse of step 22: create_index
CREATE INDEX `ix_child_amount` ON `child` (`amount`, `id`);
-- inverse of step 21: create_table
CREATE TABLE `other2` ( `id` int NOT NULL PRIMARY KEY );
-- inverse of step 20: rename_table
RENAME TABLE `other2` TO `other`;
-- inverse of step 19: add_column
ALTER TABLE `child` ADD COLUMN `other_id` int NULL;
-- inverse of step 18: add_foreign_key
ALTER TABLE `child` ADD CONSTRAINT `fk_child_other` FOREIGN KEY (`other_id`) REFERENCES `other` (`id`) ON DELETE RESTRICT ON UPDATE NO ACTION;
-- inverse of step 17: drop_foreign_key
ALTER TABLE `child` DROP FOREIGN KEY `fk_child_other`;
-- inverse of step 16: drop_column
ALTER TABLE `child` DROP COLUMN `other_id`;
-- inverse of step 15: drop_table
DROP TABLE `other`;
-- inverse of step 14: add_unique
ALTER TABLE `parent` ADD CONSTRAINT `uq_parent_mail` UNIQUE (`mail`);
-- inverse of step 13: add_check
ALTER TABLE `parent` ADD CONSTRAINT `ck_parent_score` CHECK (score >= 0);
-- inverse of step 12: drop_constraint
ALTER TABLE `parent` DROP CONSTRAINT `ck_parent_score`;
-- inverse of step 11: drop_constraint
ALTER TABLE `parent` DROP INDEX `uq_parent_mail`;
-- inverse of step 10: alter_column
ALTER TABLE `parent` RENAME COLUMN `mail` TO `email`;
-- inverse of step 9: alter_column
ALTER TABLE `parent` ALTER COLUMN `score` SET DEFAULT 5;
-- inverse of step 8: alter_column
ALTER TABLE `parent` MODIFY COLUMN `score` bigint NOT NULL DEFAULT 0;
-- inverse of step 7: alter_column
ALTER TABLE `parent` MODIFY COLUMN `score` int NOT NULL DEFAULT 0;
-- inverse of step 6: drop_column
ALTER TABLE `parent` DROP COLUMN `score`;
-- inverse of step 5: drop_column
ALTER TABLE `parent` DROP COLUMN `email`;
-- inverse of step 4: drop_index
DROP INDEX `ix_child_amount` ON `child`;
-- inverse of step 3: drop_table
DROP TABLE `pair`;
-- inverse of step 2: drop_table
DROP TABLE `child`;
-- inverse of step 1: drop_table
DROP TABLE `parent`;
