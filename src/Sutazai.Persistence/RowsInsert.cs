using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Sutazai.Persistence;

/// <summary>
/// Many new rows in one statement: on PostgreSQL <c>INSERT INTO t (a, b) SELECT ... FROM unnest(@a, @b)</c>, an
/// array per column (see <see cref="RowsSql.InsertFrom"/>); on SQLite one prepared INSERT stepped per row (see
/// <see cref="RowsSql"/>). EF inserts a row per statement (on SQLite each with <c>RETURNING</c> for its generated
/// key), and rows written by the thousand, such as task transitions, then cost more in statements than in data. Keys the database generates are left
/// to it and not read back: use this for rows nobody needs the key of at once. The statements join the context's
/// current transaction; without one, rows of several tables are written in one of their own, and on PostgreSQL
/// as one command (one round trip, one implicit transaction).
/// </summary>
public static class RowsInsert
{
    public static Task ExecuteAsync<TEntity>(DbContext db, IReadOnlyCollection<TEntity> rows, CancellationToken cancellationToken)
        where TEntity : class =>
        ExecuteTogetherAsync(db, [rows], cancellationToken);

    /// <summary>Rows of several tables, written all or none (see the class's remarks on transactions).</summary>
    /// <param name="tables">The rows of each table, in the order they are to be written (parents before children).</param>
    public static async Task ExecuteTogetherAsync(DbContext db, IReadOnlyList<IEnumerable<object>> tables, CancellationToken cancellationToken)
    {
        using var sql = new RowsSql(db);
        var groups = tables.Select(rows => rows.ToList()).Where(rows => rows.Count > 0).ToList();
        if (db.Database.IsSqlite())
        {
            var own = groups.Count > 1 && db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
            await using (own)
            {
                foreach (var rows in groups)
                {
                    var entity = sql.Entity(rows[0].GetType());
                    var head = sql.InsertInto(entity) + " VALUES ";
                    await sql.ExecuteEachAsync(rows, row => head + sql.Values(entity, row), cancellationToken);
                }

                if (own is not null)
                {
                    await own.CommitAsync(cancellationToken);
                }
            }

            return;
        }

        var text = new StringBuilder();
        foreach (var rows in groups)
        {
            text.Append(sql.InsertFrom(sql.Entity(rows[0].GetType()), rows)).AppendLine(";");
        }

        if (text.Length > 0)
        {
            await db.Database.ExecuteSqlRawAsync(text.ToString(), sql.Parameters, cancellationToken);
        }
    }
}
