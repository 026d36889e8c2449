"""Every supported format is read into passages; files that can never be read are refused at upload with
a reason, and files that fail later say why in the document's status."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from nexa.auth.models import Role
from nexa.runtime import Runtime
from nexa.tenancy.models import Account
from tests.factories import make_member
from tests.knowledge import files
from tests.knowledge.helpers import add_and_index, indexed, search, upload

pytestmark = pytest.mark.usefixtures("worker")


async def test_pdf_docx_xlsx_and_csv_are_extracted(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    await add_and_index(client, admin, "garantia.pdf", files.pdf(
        ["Garantia", "Todos os aparelhos tem garantia de 12 meses contra defeitos de fabricacao."]
    ))
    await add_and_index(client, admin, "horarios.docx", files.docx_file(
        "Horario de atendimento", ["La tienda abre de lunes a sabado, de 10 a 20 horas."],
        table=[["Dia", "Horario"], ["Domingo", "Cerrado"]],
    ))
    sheet = await add_and_index(client, admin, "planos.xlsx", files.xlsx_file(
        [["Plano", "Preço mensal", "Usuários"], ["Básico", "R$ 49", 3], ["Empresarial", "R$ 299", 50]]
    ))
    await add_and_index(client, admin, "lojas.csv", "cidade;endereço\nCuritiba;Rua XV de Novembro, 100\n".encode())

    assert "12 meses" in (await search(client, admin, "qual a garantia do aparelho?"))[0]["content"]
    assert "Dia: Domingo; Horario: Cerrado" in (await search(client, admin, "abren el domingo?"))[0]["content"]
    # A table is one passage whose rows name their columns, so a price question finds the row.
    [best, *_] = await search(client, admin, "preço do plano empresarial")
    assert best["document_id"] == sheet["id"] and "Plano: Empresarial; Preço mensal: R$ 299" in best["content"]
    assert "Rua XV de Novembro" in (await search(client, admin, "endereco em curitiba"))[0]["content"]


@pytest.mark.parametrize(
    ("filename", "data", "reason"),
    [
        ("vazio.txt", b"  \n ", "The file is empty"),
        ("protegido.pdf", files.encrypted_pdf(), "password-protected"),
        ("quebrado.pdf", b"%PDF-1.4 this is not really a pdf", "corrupt"),
        ("quebrado.docx", b"PK\x03\x04 truncated zip", "corrupt"),
        ("planilha.xlsx", files.docx_file("x", ["y"]), "not a XLSX"),
        ("binario.txt", b"\x00\x01\x02\xff\xfe" * 10, "not text"),
        ("foto.png", b"\x89PNG\r\n", "Unsupported file type"),
    ],
)
async def test_unreadable_uploads_are_refused_with_the_reason(
    client: httpx.AsyncClient, runtime: Runtime, filename: str, data: bytes, reason: str
) -> None:
    admin = await make_member(runtime)
    response = await upload(client, admin, filename, data)
    assert response.status_code == 422, response.text
    assert reason in response.json()["error"]


async def test_a_scanned_pdf_without_text_fails_with_the_reason(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    response = await upload(client, admin, "scan.pdf", files.pdf([]))
    assert response.status_code == 200, response.text
    document = await indexed(client, admin, response.json()["id"])
    assert document["status"] == "failed" and "OCR" in document["error"]


async def test_plan_limits_on_size_and_count(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    async with runtime.db.session() as session:
        await session.execute(
            update(Account).where(Account.id == admin.account.id).values(
                limits={"knowledge_upload_mb": 1, "knowledge_documents": 1}
            )
        )
    response = await upload(client, admin, "grande.txt", b"palavra " * 200_000)
    assert response.status_code == 413 and "1 MB" in response.json()["error"]

    assert (await upload(client, admin, "um.txt", b"primeiro documento")).status_code == 200
    response = await upload(client, admin, "dois.txt", b"segundo documento")
    assert response.status_code == 422 and "1 knowledge documents" in response.json()["error"]


async def test_only_admins_add_documents_and_a_file_is_required(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    assert (await upload(client, agent, "a.txt", b"texto")).status_code == 401
    # Agents may search (the bot and the inbox's "try a question" box do).
    assert await search(client, agent, "texto") == []

    response = await client.post(
        f"/api/v1/accounts/{admin.account.id}/knowledge/documents", headers=admin.headers, data={"title": "x"}
    )
    assert response.status_code == 422 and "file" in response.json()["error"]
