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
/// any statement produced where it is not NULL (other rows are discarded).
///
/// # Errors
/// SQLite's extended code and `sqlite3_errmsg` as `sqlx::Error::Database`.
pub fn exec(
    handle: &mut LockedSqliteHandle<'_>,
    sql: &str,
    read: bool,
) -> Result<Option<String>, sqlx::Error> {
    if read {
        let rows = rows(handle, sql)?;
        return Ok(rows
            .into_iter()
            .find_map(|row| row.into_iter().next().flatten()));
    }
    run(handle, sql, None, std::ptr::null_mut())?;
    Ok(None)
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
    // (a local of `rows`, or null without a callback); `errmsg` is freed
    // below with
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

/// A value bound to a prepared statement ([`Stmt::bind`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bind<'a> {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text (copied by SQLite when bound).
    Text(&'a str),
}

/// A column of the current row of a [`Stmt`], by its storage class.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// NULL.
    Null,
    /// INTEGER.
    Int(i64),
    /// REAL.
    Float(f64),
    /// TEXT (invalid UTF-8 replaced), or a BLOB read as text.
    Text(Cow<'a, str>),
}

/// sqlx's locked SQLite handle, for prepared statements run on the
/// calling thread: no hand-off to sqlx's worker per statement or row.
/// Statements prepared on it cannot outlive the lock.
pub struct Conn<'h> {
    db: *mut ffi::sqlite3,
    _lock: std::marker::PhantomData<&'h mut ()>,
}

/// The last error of `db` as sqlx reports SQLite errors.
///
/// SAFETY (callers): `db` is a valid, locked connection.
unsafe fn last_error(db: *mut ffi::sqlite3, rc: c_int) -> sqlx::Error {
    let message = CStr::from_ptr(ffi::sqlite3_errmsg(db))
        .to_string_lossy()
        .into_owned();
    let code = ffi::sqlite3_extended_errcode(db);
    sqlx::Error::Database(Box::new(ExecError {
        code: if code == 0 { rc } else { code },
        message,
    }))
}

impl<'h> Conn<'h> {
    /// Borrows the locked handle for the lifetime of the returned value.
    pub fn new(handle: &'h mut LockedSqliteHandle<'_>) -> Conn<'h> {
        Conn {
            db: handle.as_raw_handle().as_ptr(),
            _lock: std::marker::PhantomData,
        }
    }

    /// Prepares ONE statement (trailing `;` and blanks allowed).
    ///
    /// # Errors
    /// SQLite's error; more than one statement.
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>, sqlx::Error> {
        let len = c_int::try_from(sql.len())
            .map_err(|_| sqlx::Error::Protocol("statement too long".into()))?;
        let mut raw: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
        let mut tail: *const c_char = std::ptr::null();
        // SAFETY: `self.db` is valid and locked for `'h` (no other thread
        // uses it); `sql` is valid for `len` bytes (no NUL needed with an
        // explicit length); `raw` and `tail` are written by SQLite. `tail`
        // points into `sql`, so the offset is within it.
        unsafe {
            let rc =
                ffi::sqlite3_prepare_v2(self.db, sql.as_ptr().cast(), len, &mut raw, &mut tail);
            if rc != ffi::SQLITE_OK {
                ffi::sqlite3_finalize(raw);
                return Err(last_error(self.db, rc));
            }
            let used = if tail.is_null() {
                sql.len()
            } else {
                usize::try_from(tail.offset_from(sql.as_ptr().cast())).unwrap_or(sql.len())
            };
            let rest = sql.get(used..).unwrap_or("");
            if !rest
                .trim_matches(|c: char| c.is_whitespace() || c == ';')
                .is_empty()
            {
                ffi::sqlite3_finalize(raw);
                return Err(sqlx::Error::Protocol(
                    "more than one statement where one was expected".into(),
                ));
            }
        }
        if raw.is_null() {
            return Err(sqlx::Error::Protocol("empty statement".into()));
        }
        Ok(Stmt { raw, conn: self })
    }

    /// Runs `sql` (any number of statements, no parameters, rows
    /// discarded).
    ///
    /// # Errors
    /// SQLite's error.
    pub fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = CString::new(sql).map_err(|_| sqlx::Error::Protocol("NUL in SQL".into()))?;
        // SAFETY: as in `prepare`; no callback, no error string requested.
        unsafe {
            let rc = ffi::sqlite3_exec(
                self.db,
                sql.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
            if rc != ffi::SQLITE_OK {
                return Err(last_error(self.db, rc));
            }
        }
        Ok(())
    }

    /// Prepares ONE statement, binds `values` to its parameters in order
    /// and runs it to completion (rows are discarded).
    ///
    /// # Errors
    /// As [`Conn::prepare`], [`Stmt::bind`] and [`Stmt::step`].
    pub fn run(&self, sql: &str, values: &[Bind<'_>]) -> Result<(), sqlx::Error> {
        let mut stmt = self.prepare(sql)?;
        stmt.bind_all(values)?;
        while stmt.step()? {}
        Ok(())
    }
}

/// A prepared statement on a [`Conn`]; finalized on drop.
pub struct Stmt<'c> {
    raw: *mut ffi::sqlite3_stmt,
    conn: &'c Conn<'c>,
}

impl Stmt<'_> {
    /// Binds parameter `index` (1-based).
    ///
    /// # Errors
    /// SQLite's error (e.g. index out of range).
    pub fn bind(&mut self, index: usize, value: Bind<'_>) -> Result<(), sqlx::Error> {
        let i = c_int::try_from(index)
            .map_err(|_| sqlx::Error::Protocol("parameter index out of range".into()))?;
        // SAFETY: `self.raw` is a live statement of the locked connection;
        // text is copied by SQLite (SQLITE_TRANSIENT) before returning.
        let rc = unsafe {
            match value {
                Bind::Null => ffi::sqlite3_bind_null(self.raw, i),
                Bind::Int(v) => ffi::sqlite3_bind_int64(self.raw, i, v),
                Bind::Float(v) => ffi::sqlite3_bind_double(self.raw, i, v),
                Bind::Text(s) => match c_int::try_from(s.len()) {
                    Ok(n) => ffi::sqlite3_bind_text(
                        self.raw,
                        i,
                        s.as_ptr().cast(),
                        n,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                    Err(_) => ffi::SQLITE_TOOBIG,
                },
            }
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            // SAFETY: the connection is valid and locked.
            Err(unsafe { last_error(self.conn.db, rc) })
        }
    }

    /// Binds `values` to parameters 1, 2, … in order.
    ///
    /// # Errors
    /// As [`Stmt::bind`].
    pub fn bind_all(&mut self, values: &[Bind<'_>]) -> Result<(), sqlx::Error> {
        values
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| self.bind(i + 1, *v))
    }

    /// Steps once: `true` when a row is available.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn step(&mut self) -> Result<bool, sqlx::Error> {
        // SAFETY: a live statement of the locked connection.
        match unsafe { ffi::sqlite3_step(self.raw) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            // SAFETY: as above; `sqlite3_reset` returns the same error and
            // makes the statement reusable.
            rc => Err(unsafe {
                ffi::sqlite3_reset(self.raw);
                last_error(self.conn.db, rc)
            }),
        }
    }

    /// Resets the statement to run again (bindings are kept).
    pub fn reset(&mut self) {
        // SAFETY: a live statement; an error of the last step was already
        // reported by `step`.
        unsafe {
            ffi::sqlite3_reset(self.raw);
        }
    }

    /// Number of columns of the result.
    pub fn column_count(&self) -> usize {
        // SAFETY: a live statement.
        usize::try_from(unsafe { ffi::sqlite3_column_count(self.raw) }).unwrap_or(0)
    }

    /// The name of result column `i` (0-based).
    pub fn column_name(&self, i: usize) -> String {
        let Ok(i) = c_int::try_from(i) else {
            return String::new();
        };
        // SAFETY: a live statement; the name (or NULL) stays valid until the
        // statement is finalized or re-prepared, and is copied at once.
        unsafe {
            let p = ffi::sqlite3_column_name(self.raw, i);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        }
    }

    /// Column `i` (0-based) of the current row (after `step` returned
    /// `true`); the borrow ends before the next `step`.
    pub fn column(&self, i: usize) -> Cell<'_> {
        let Ok(i) = c_int::try_from(i) else {
            return Cell::Null;
        };
        // SAFETY: a live statement positioned on a row; text/blob pointers
        // stay valid until the next step/reset/finalize (which need `&mut
        // self`, so not while the returned borrow lives) or a conversion of
        // the same column to another encoding: a column is only ever read
        // here, as blob or as UTF-8 text by its type, so a second read
        // returns the same pointer. `bytes` is read after the text/blob
        // call as the SQLite docs require.
        unsafe {
            match ffi::sqlite3_column_type(self.raw, i) {
                ffi::SQLITE_INTEGER => Cell::Int(ffi::sqlite3_column_int64(self.raw, i)),
                ffi::SQLITE_FLOAT => Cell::Float(ffi::sqlite3_column_double(self.raw, i)),
                ffi::SQLITE_NULL => Cell::Null,
                kind => {
                    let p: *const u8 = if kind == ffi::SQLITE_BLOB {
                        ffi::sqlite3_column_blob(self.raw, i).cast()
                    } else {
                        ffi::sqlite3_column_text(self.raw, i)
                    };
                    let n = usize::try_from(ffi::sqlite3_column_bytes(self.raw, i)).unwrap_or(0);
                    if p.is_null() || n == 0 {
                        Cell::Text(Cow::Borrowed(""))
                    } else {
                        Cell::Text(String::from_utf8_lossy(std::slice::from_raw_parts(p, n)))
                    }
                }
            }
        }
    }
}

impl Drop for Stmt<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` was prepared on the locked connection and is
        // finalized exactly once, here.
        unsafe {
            ffi::sqlite3_finalize(self.raw);
        }
    }
}
