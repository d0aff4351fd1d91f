-- type = "integer", default = -1
SELECT CASE WHEN TRIM(`age_text`) REGEXP '^-?[0-9]+$' AND (CHAR_LENGTH(TRIM(LEADING '0' FROM TRIM(LEADING '-' FROM TRIM(`age_text`)))) < 19 OR (CHAR_LENGTH(TRIM(LEADING '0' FROM TRIM(LEADING '-' FROM TRIM(`age_text`)))) = 19 AND TRIM(LEADING '0' FROM TRIM(LEADING '-' FROM TRIM(`age_text`))) <= '9223372036854775807') OR (substr(TRIM(`age_text`), 1, 1) = '-' AND TRIM(LEADING '0' FROM TRIM(LEADING '-' FROM TRIM(`age_text`))) = '9223372036854775808')) THEN CAST(TRIM(`age_text`) AS SIGNED) ELSE -1 END;
-- type = "float", default = NULL
SELECT CASE WHEN TRIM(`age_text`) REGEXP '^-?[0-9]+([.][0-9]+)?$' AND CHAR_LENGTH(TRIM(LEADING '0' FROM TRIM(LEADING '-' FROM SUBSTRING_INDEX(TRIM(`age_text`), '.', 1)))) <= 308 THEN CASE WHEN TRIM(LEADING '0' FROM TRIM(LEADING '-' FROM SUBSTRING_INDEX(TRIM(`age_text`), '.', 1))) = '' AND CHAR_LENGTH(substr(TRIM(`age_text`), LOCATE('.', TRIM(`age_text`)) + 1)) - CHAR_LENGTH(TRIM(LEADING '0' FROM substr(TRIM(`age_text`), LOCATE('.', TRIM(`age_text`)) + 1))) >= 308 THEN 0.0 ELSE CAST(TRIM(`age_text`) AS DOUBLE) END ELSE NULL END;
-- type = "text", default = NULL
SELECT CAST(`age_text` AS CHAR);
