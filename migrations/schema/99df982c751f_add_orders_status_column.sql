-- revision: 99df982c751f
-- down_revision: 07e6f189e7f2
-- message: add orders status column
-- created: 2026-11-10T08:47:00Z
-- depends_on:
-- transactional: true

-- migrate:upgrade
-- Nullable at first. The data revision 2dfd05a87553 fills it in, then
-- b517563c4428 makes it NOT NULL.
ALTER TABLE orders ADD COLUMN status VARCHAR(20);

-- migrate:downgrade
ALTER TABLE orders DROP COLUMN status;
