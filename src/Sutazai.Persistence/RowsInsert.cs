using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

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
        var entity = db.Model.FindEntityType(typeof(TEntity)) ?? throw new InvalidOperationException($"{typeof(TEntity).Name} is not in the model.");
        var columns = entity.GetProperties().Where(p => !(p.IsPrimaryKey() && p.ValueGenerated == ValueGenerated.OnAdd && p.ClrType == typeof(long))).ToList();
        using var sql = new RowsSql(db, entity);
        var head = $"INSERT INTO {sql.Table} ({string.Join(", ", columns.Select(sql.Column))}) VALUES ";
        string Values(TEntity row) => $"({string.Join(", ", columns.Select(c => sql.Parameter(c, c.GetGetter().GetClrValue(row))))})";
        if (db.Database.IsSqlite())
        {
            await sql.ExecuteEachAsync(rows, row => head + Values(row), cancellationToken);
            return;
        }

        foreach (var chunk in rows.Chunk(MaxRows))
        {
            sql.ClearParameters();
            var text = new StringBuilder(head).AppendJoin(", ", chunk.Select(Values));
            await db.Database.ExecuteSqlRawAsync(text.ToString(), sql.Parameters, cancellationToken);
        }
    }
}
