using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Sutazai.Persistence;

/// <summary>
/// Many new rows in one statement: <c>INSERT INTO t (a, b) VALUES (@a0, @b0), (@a1, @b1), ...</c> (on SQLite, one
/// prepared INSERT stepped per row, see <see cref="RowsSql"/>). EF inserts a row
/// per statement (on SQLite each with <c>RETURNING</c> for its generated key), and rows written by the thousand,
/// such as task transitions, then cost more in statements than in data. Keys the database generates are left
/// to it and not read back: use this for rows nobody needs the key of at once. The statement joins the context's
/// current transaction.
/// </summary>
public static class RowsInsert
{
    /// <summary>Rows per statement, well under the parameter limits of SQLite (32766) and PostgreSQL (65535).</summary>
    private const int MaxRows = 500;

    public static async Task ExecuteAsync<TEntity>(DbContext db, IReadOnlyCollection<TEntity> rows, CancellationToken cancellationToken)
        where TEntity : class
    {
        using var sql = new RowsSql(db);
        var entity = sql.Entity<TEntity>();
        var head = sql.InsertInto(entity) + " VALUES ";
        if (db.Database.IsSqlite())
        {
            await sql.ExecuteEachAsync(rows, row => head + sql.Values(entity, row), cancellationToken);
            return;
        }

        foreach (var chunk in rows.Chunk(MaxRows))
        {
            sql.ClearParameters();
            var text = new StringBuilder(head).AppendJoin(", ", chunk.Select(row => sql.Values(entity, row)));
            await db.Database.ExecuteSqlRawAsync(text.ToString(), sql.Parameters, cancellationToken);
        }
    }
}
