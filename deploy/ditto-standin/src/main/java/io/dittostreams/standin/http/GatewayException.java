package io.dittostreams.standin.http;

import org.eclipse.ditto.base.model.common.HttpStatus;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;

/**
 * The gateway's own refusals (authentication, unsupported method), whose exception types
 * live in Ditto's gateway service and are not among the libraries the stand-in uses.
 * Same JSON shape as every other Ditto error.
 */
final class GatewayException extends DittoRuntimeException {

    private static final long serialVersionUID = 1L;

    private GatewayException(String code, HttpStatus status, String message,
            String description, DittoHeaders headers) {
        super(code, status, headers, message, description, null, null);
    }

    static GatewayException authenticationFailed(String description) {
        return new GatewayException("gateway:authentication.failed", HttpStatus.UNAUTHORIZED,
                "Unauthorized.", description, DittoHeaders.empty());
    }

    static GatewayException methodNotAllowed(String method, String path) {
        return new GatewayException("gateway:method.notallowed", HttpStatus.METHOD_NOT_ALLOWED,
                "The method <" + method + "> is not allowed on <" + path + ">.",
                "The Ditto stand-in serves only the methods its README lists.",
                DittoHeaders.empty());
    }

    @Override
    public DittoRuntimeException setDittoHeaders(DittoHeaders dittoHeaders) {
        return new GatewayException(getErrorCode(), getHttpStatus(), getMessage(),
                getDescription().orElse(null), dittoHeaders);
    }
}
