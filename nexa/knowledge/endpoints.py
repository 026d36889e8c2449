from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.knowledge import service
from nexa.knowledge.repository import DocumentRepository
from nexa.knowledge.schemas import DocumentList, DocumentOut, FaqCreate, SearchRequest, SearchResponse, UrlImportCreate
from nexa.knowledge.serializers import document_out, hit_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}/knowledge", tags=["knowledge"])

KnowledgeRead = Annotated[AccountContext, Depends(authorize("knowledge:read", bots=True))]
KnowledgeAdmin = Annotated[AccountContext, Depends(authorize("knowledge:write", admin=True))]


@router.post("/documents", response_model=DocumentOut, summary="Upload a document (PDF, DOCX, XLSX, CSV, TXT, Markdown)")
async def upload_document(
    ctx: KnowledgeAdmin,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File(description="The document")],
    title: Annotated[str | None, Form(max_length=255)] = None,
) -> DocumentOut:
    limit = service.upload_limit_bytes(ctx.account)
    # One byte past the limit is enough to know it is too large, without reading a huge upload whole.
    data = await file.read(-1 if limit is None else limit + 1)
    document = await service.upload_document(
        session, ctx.account, runtime.settings, filename=file.filename or "upload.txt", data=data, title=title
    )
    return document_out(document)


@router.post("/faqs", response_model=DocumentOut, summary="Add question and answer pairs as one document")
async def create_faq(body: FaqCreate, ctx: KnowledgeAdmin, session: DbSession, runtime: RuntimeDep) -> DocumentOut:
    document = await service.create_faq(session, ctx.account, runtime.settings, title=body.title, pairs=body.pairs)
    return document_out(document)


@router.post("/imports", response_model=DocumentOut, summary="Index a public CSV or Google Sheets URL")
async def import_url(body: UrlImportCreate, ctx: KnowledgeAdmin, session: DbSession, runtime: RuntimeDep) -> DocumentOut:
    document = await service.import_url(session, ctx.account, runtime.settings, url=body.url, title=body.title)
    return document_out(document)


@router.get("/documents", response_model=DocumentList)
async def list_documents(ctx: KnowledgeRead, session: DbSession) -> DocumentList:
    documents = await DocumentRepository(session, ctx.account_id).newest_first()
    return DocumentList(payload=[document_out(document) for document in documents])


@router.get("/documents/{document_id}", response_model=DocumentOut)
async def get_document(document_id: int, ctx: KnowledgeRead, session: DbSession) -> DocumentOut:
    return document_out(await DocumentRepository(session, ctx.account_id).get_or_404(document_id))


@router.post("/documents/{document_id}/reindex", response_model=DocumentOut)
async def reindex_document(document_id: int, ctx: KnowledgeAdmin, session: DbSession) -> DocumentOut:
    document = await DocumentRepository(session, ctx.account_id).get_or_404(document_id)
    return document_out(await service.reindex_document(session, document))


@router.post("/documents/reindex", response_model=DocumentList, summary="Index every document again")
async def reindex_all(ctx: KnowledgeAdmin, session: DbSession) -> DocumentList:
    documents = await service.reindex_all(session, ctx.account_id)
    return DocumentList(payload=[document_out(document) for document in documents])


@router.delete("/documents/{document_id}", status_code=200, response_class=Response)
async def delete_document(document_id: int, ctx: KnowledgeAdmin, session: DbSession, runtime: RuntimeDep) -> Response:
    document = await DocumentRepository(session, ctx.account_id).get_or_404(document_id)
    await service.delete_document(session, document, runtime.settings)
    return Response(status_code=200)


@router.post("/search", response_model=SearchResponse, summary="The passages that best answer a question, best first")
async def search(body: SearchRequest, ctx: KnowledgeRead, session: DbSession) -> SearchResponse:
    hits = await service.search_knowledge(session, ctx.account_id, body.query, limit=body.limit)
    return SearchResponse(payload=[hit_out(hit) for hit in hits])
