-- type = "integer", default = -1
SELECT CASE WHEN trim(CAST("age_text" AS text)) ~ '^-?[0-9]+$' AND (length(ltrim(trim(CAST("age_text" AS text)), '-0')) < 19 OR (length(ltrim(trim(CAST("age_text" AS text)), '-0')) = 19 AND ltrim(trim(CAST("age_text" AS text)), '-0') COLLATE "C" <= '9223372036854775807') OR (substr(trim(CAST("age_text" AS text)), 1, 1) = '-' AND ltrim(trim(CAST("age_text" AS text)), '-0') = '9223372036854775808')) THEN CAST(trim(CAST("age_text" AS text)) AS bigint) ELSE -1 END;
-- type = "float", default = NULL
SELECT CASE WHEN trim(CAST("age_text" AS text)) ~ '^-?[0-9]+([.][0-9]+)?$' AND length(ltrim(split_part(trim(CAST("age_text" AS text)), '.', 1), '-0')) <= 308 THEN CASE WHEN ltrim(split_part(trim(CAST("age_text" AS text)), '.', 1), '-0') = '' AND length(substr(trim(CAST("age_text" AS text)), strpos(trim(CAST("age_text" AS text)), '.') + 1)) - length(ltrim(substr(trim(CAST("age_text" AS text)), strpos(trim(CAST("age_text" AS text)), '.') + 1), '0')) >= 308 THEN 0.0 ELSE CAST(trim(CAST("age_text" AS text)) AS double precision) END ELSE NULL END;
-- type = "text", default = NULL
SELECT CAST("age_text" AS TEXT);
