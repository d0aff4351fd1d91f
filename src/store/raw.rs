//! SQLite scripts run directly on sqlx's locked connection handle with
//! `sqlite3_exec`: one hand-off to sqlx's worker thread per script instead
//! of one per statement result (issue #3, design notes "Performance").

use std::borrow::Cow;
use std::ffi::{c_char, c_int, c_void, CStr, CString};

use libsqlite3_sys as ffi;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::sqlite::LockedSqliteHandle;

/// An error SQLite reported for a script: extended code and message,
/// displayed as sqlx displays its own SQLite errors.
#[derive(Debug)]
pub struct ExecError {
    code: c_int,
    message: String,
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for ExecError {}

impl DatabaseError for ExecError {
    fn message(&self) -> &str {
        &self.message
    }
    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// Collects column 0 of the first row into the `Option<String>` behind `out`.
extern "C" fn first_cell(
    out: *mut c_void,
    columns: c_int,
    values: *mut *mut c_char,
    _names: *mut *mut c_char,
) -> c_int {
    // SAFETY: `out` is the `&mut Option<String>` passed by `exec`, alive for
    // the whole `sqlite3_exec` call; `values` holds `columns` pointers, each
    // NULL or a NUL-terminated string owned by SQLite for this call.
    unsafe {
        let out = &mut *out.cast::<Option<String>>();
        if out.is_none() && columns > 0 && !(*values).is_null() {
            *out = Some(CStr::from_ptr(*values).to_string_lossy().into_owned());
        }
    }
    0
}

/// Appends every row (each column as text, `None` for NULL) to the
/// `Vec<Vec<Option<String>>>` behind `out`.
extern "C" fn all_rows(
    out: *mut c_void,
    columns: c_int,
    values: *mut *mut c_char,
    _names: *mut *mut c_char,
) -> c_int {
    // SAFETY: `out` is the `&mut Vec<…>` passed by `rows`, alive for the
    // whole `sqlite3_exec` call; `values` holds `columns` pointers, each NULL
    // or a NUL-terminated string owned by SQLite for this call.
    unsafe {
        let out = &mut *out.cast::<Vec<Vec<Option<String>>>>();
        let values = std::slice::from_raw_parts(values, usize::try_from(columns).unwrap_or(0));
        out.push(
            values
                .iter()
                .map(|&v| (!v.is_null()).then(|| CStr::from_ptr(v).to_string_lossy().into_owned()))
                .collect(),
        );
    }
    0
}

/// Runs the query `sql` with `sqlite3_exec` on the locked handle and
/// returns its rows, every column as text (`None` for NULL): one hand-off
/// to sqlx's worker thread instead of one per row (reading 1,000
/// `_versions` rows through sqlx cost ~1,000 thread wake-ups).
///
/// # Errors
/// As [`exec`].
pub fn rows(
    handle: &mut LockedSqliteHandle<'_>,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
    let mut out: Vec<Vec<Option<String>>> = Vec::new();
    run(
        handle,
        sql,
        Some(all_rows),
        std::ptr::from_mut(&mut out).cast(),
    )?;
    Ok(out)
}

/// Runs `sql` (one or more `;`-separated statements) with `sqlite3_exec`
/// on the locked handle; with `read`, returns column 0 of the first row
/// any statement produced (rows are otherwise discarded).
///
/// # Errors
/// SQLite's extended code and `sqlite3_errmsg` as `sqlx::Error::Database`.
pub fn exec(
    handle: &mut LockedSqliteHandle<'_>,
    sql: &str,
    read: bool,
) -> Result<Option<String>, sqlx::Error> {
    let mut out: Option<String> = None;
    let callback: ffi::sqlite3_callback = if read { Some(first_cell) } else { None };
    run(handle, sql, callback, std::ptr::from_mut(&mut out).cast())?;
    Ok(out)
}

/// `sqlite3_exec` of `sql` on the locked handle, `callback` receiving `out`.
fn run(
    handle: &mut LockedSqliteHandle<'_>,
    sql: &str,
    callback: ffi::sqlite3_callback,
    out: *mut c_void,
) -> Result<(), sqlx::Error> {
    let sql = CString::new(sql).map_err(|_| sqlx::Error::Protocol("NUL in SQL".into()))?;
    let db = handle.as_raw_handle().as_ptr();
    let mut errmsg: *mut c_char = std::ptr::null_mut();
    // SAFETY: `db` is a valid open connection, locked for us by sqlx for the
    // lifetime of `handle` (no other thread uses it meanwhile); `sql` is
    // NUL-terminated; `out` is what `callback` expects and outlives the call
    // (both callers pass a local); `errmsg` is freed below with
    // `sqlite3_free` as the API requires.
    unsafe {
        let rc = ffi::sqlite3_exec(db, sql.as_ptr(), callback, out, &mut errmsg);
        if rc != ffi::SQLITE_OK {
            let message = if errmsg.is_null() {
                CStr::from_ptr(ffi::sqlite3_errmsg(db))
                    .to_string_lossy()
                    .into_owned()
            } else {
                CStr::from_ptr(errmsg).to_string_lossy().into_owned()
            };
            let code = ffi::sqlite3_extended_errcode(db);
            ffi::sqlite3_free(errmsg.cast());
            return Err(sqlx::Error::Database(Box::new(ExecError {
                code: if code == 0 { rc } else { code },
                message,
            })));
        }
    }
    Ok(())
}
