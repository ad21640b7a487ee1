using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class QueueHeadByAgent : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_queued",
                table: "tasks");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_tasks_queued",
                table: "tasks",
                columns: new[] { "status", "dispatch_score" },
                filter: "status = 'Queued'");
        }
    }
}
