package io.dittostreams.standin.connectivity;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import io.dittostreams.standin.twin.TwinService;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.ditto.base.model.common.ResponseType;
import org.eclipse.ditto.base.model.entity.id.WithEntityId;
import org.eclipse.ditto.base.model.exceptions.DittoInternalErrorException;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.signals.Signal;
import org.eclipse.ditto.connectivity.model.ReplyTarget;
import org.eclipse.ditto.connectivity.model.Source;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.ThingErrorResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One source's handling of a record: read the command, apply it to the twin, and answer
 * on the reply target when the command asks for a response (response-required, the
 * default) and the reply target expects that kind of answer (response or error).
 */
final class SourceProcessor {

    private static final Logger LOG = LoggerFactory.getLogger(SourceProcessor.class);

    private final Source source;
    private final String connectionId;
    private final TwinService twins;
    private final Consumer<ProducerRecord<String, String>> send;

    SourceProcessor(Source source, String connectionId, TwinService twins,
            Consumer<ProducerRecord<String, String>> send) {
        this.source = source;
        this.connectionId = connectionId;
        this.twins = twins;
        this.send = send;
    }

    void process(ConsumerRecord<String, String> record) {
        String origin = record.topic() + "[" + record.partition() + "]@" + record.offset();
        Map<String, String> external = Inbound.externalHeaders(record);
        if (Inbound.expired(external, System.currentTimeMillis())) {
            LOG.info("dropped expired record connection={} origin={}", connectionId, origin);
            return;
        }
        ThingCommand<?> command = null;
        Signal<?> answer;
        boolean error = false;
        try {
            command = Inbound.command(record.value(), external, source, connectionId);
            answer = twins.handle(command);
            LOG.debug("applied thing={} origin={} type={}", command.getEntityId(), origin,
                    command.getType());
        } catch (DittoRuntimeException e) {
            answer = errorResponse(command, e, record.value(), external);
            error = true;
            LOG.info("refused thing={} origin={} status={} error={}", thingOf(command), origin,
                    e.getHttpStatus().getCode(), e.getErrorCode());
        } catch (RuntimeException e) {
            LOG.error("failed thing={} origin={}", thingOf(command), origin, e);
            answer = errorResponse(command, DittoInternalErrorException.newBuilder().cause(e)
                    .build(), record.value(), external);
            error = true;
        }
        if (command == null || command.getDittoHeaders().isResponseRequired()) {
            reply(answer, error, external);
        }
    }

    private void reply(Signal<?> answer, boolean error, Map<String, String> external) {
        if (!source.isReplyTargetEnabled() || source.getReplyTarget().isEmpty()) {
            return;
        }
        ReplyTarget target = source.getReplyTarget().get();
        ResponseType type = error ? ResponseType.ERROR : ResponseType.RESPONSE;
        if (!target.getExpectedResponseTypes().contains(type)) {
            return;
        }
        Map<String, String> headers = new LinkedHashMap<>(external);
        headers.putAll(answer.getDittoHeaders());
        String address = new Placeholders().headers(headers)
                .resolve(target.getAddress()).orElse(target.getAddress());
        ThingId id = ThingId.of(((WithEntityId) answer).getEntityId());
        send.accept(Outbound.reply(address, target.getHeaderMapping(), answer, id));
    }

    private static Signal<?> errorResponse(ThingCommand<?> command, DittoRuntimeException error,
            String payload, Map<String, String> external) {
        if (command != null) {
            DittoHeaders headers = command.getDittoHeaders();
            return ThingErrorResponse.of(command.getEntityId(), error.setDittoHeaders(headers),
                    headers);
        }
        Inbound.Fallback known = Inbound.fallback(payload, external);
        DittoRuntimeException withHeaders = error.setDittoHeaders(known.headers());
        return known.thing() == null
                ? ThingErrorResponse.of(withHeaders, known.headers())
                : ThingErrorResponse.of(known.thing(), withHeaders, known.headers());
    }

    private static String thingOf(ThingCommand<?> command) {
        return command == null ? "-" : command.getEntityId().toString();
    }
}
