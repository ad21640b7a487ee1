using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sutazai.Persistence.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class DispatchByAgent : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_agent_id_status",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_agent_id_status_dispatch_score",
                table: "tasks",
                columns: new[] { "agent_id", "status", "dispatch_score" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_tasks_agent_id_status_dispatch_score",
                table: "tasks");

            migrationBuilder.CreateIndex(
                name: "ix_tasks_agent_id_status",
                table: "tasks",
                columns: new[] { "agent_id", "status" });
        }
    }
}
